"""Cycles settings shared by the Blender reference scripts (make_demo_blender.py,
make_livescene_blender.py, make_relight_cycles.py): an HDRI world (set_hdri_world); CPU rendering with a fixed seed and no denoiser, a box pixel filter,
8-bit sRGB PNGs through the Standard view transform with no dithering, so that pixel values are
display-encoded radiance that facet can compare with."""

import os


def configure_cycles(scene, width, height, samples, filter_width, seed=0):
    """filter_width: the box filter's width in pixels as set on the scene. Blender does not pass
    it on: it renders the box filter 1 px wide whatever the width (its UI hides the width for the
    box), so every render here averages each pixel's area (measured: widths 0.01, 1 and 3 give
    identical renders). The value is kept so that the outputs stay byte for byte reproducible."""
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = samples
    scene.cycles.use_denoising = False
    scene.cycles.pixel_filter_type = "BOX"
    scene.cycles.filter_width = filter_width
    scene.cycles.seed = seed
    scene.render.resolution_x = width
    scene.render.resolution_y = height
    scene.render.resolution_percentage = 100
    scene.render.dither_intensity = 0.0
    scene.render.film_transparent = False
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    scene.render.image_settings.color_depth = "8"
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    scene.view_settings.exposure = 0.0
    scene.view_settings.gamma = 1.0
    scene.sequencer_colorspace_settings.name = "sRGB"


def set_hdri_world(scene, hdri_path):
    """Lights the scene by the equirectangular HDRI at hdri_path (default mapping, bilinear
    lookups, strength 1) and nothing else; returns the world."""
    import bpy

    world = scene.world or bpy.data.worlds.new("world")
    scene.world = world
    world.use_nodes = True
    nodes = world.node_tree.nodes
    nodes.clear()
    tex = nodes.new("ShaderNodeTexEnvironment")
    tex.image = bpy.data.images.load(os.path.abspath(hdri_path), check_existing=True)
    tex.interpolation = "Linear"
    background = nodes.new("ShaderNodeBackground")
    background.inputs["Strength"].default_value = 1.0
    output = nodes.new("ShaderNodeOutputWorld")
    world.node_tree.links.new(tex.outputs["Color"], background.inputs["Color"])
    world.node_tree.links.new(background.outputs["Background"], output.inputs["Surface"])
    return world

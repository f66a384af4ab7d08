/* Host helpers of render/pixel_filter.h: filter names, default widths and the option check. */
#include "pixel_filter.h"

#include <string.h>

static const char *const filter_names[] = {"box", "gaussian", "blackman-harris"};

int facet_filter_type_from_name(const char *name) {
    for (int t = 0; t < (int)(sizeof filter_names / sizeof *filter_names); t++)
        if (!strcmp(name, filter_names[t])) return t;
    return -1;
}

const char *facet_filter_type_name(int type) {
    return type >= 0 && type < (int)(sizeof filter_names / sizeof *filter_names)
               ? filter_names[type]
               : "unknown";
}

float facet_filter_default_width(int type) {
    const facet_pixel_filter filter = {0, type, 0.0f};
    return facet_pixel_filter_width(&filter);
}

facet_status facet_pixel_filter_check(const facet_pixel_filter *filter) {
    if (filter->spp < 0 || filter->spp > FACET_FILTER_MAX_SPP)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "%d samples per pixel: expected 1 to %d",
                          filter->spp, FACET_FILTER_MAX_SPP);
    if (filter->type < FACET_FILTER_BOX || filter->type > FACET_FILTER_BLACKMAN_HARRIS)
        return facet_fail(FACET_ERR_INVALID_ARGUMENT, "unknown pixel filter type %d", filter->type);
    if (!(filter->width >= 0.0f && filter->width <= 16.0f))
        return facet_fail(FACET_ERR_INVALID_ARGUMENT,
                          "pixel filter width %g px: expected 0 (the filter's default) to 16",
                          (double)filter->width);
    return FACET_OK;
}

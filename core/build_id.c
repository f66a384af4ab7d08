/* facet_build_id: the loaded objects' program headers (dl_iterate_phdr), the one whose PT_LOAD
 * segments hold the address, and in its PT_NOTE segments the note of type NT_GNU_BUILD_ID (3)
 * named "GNU" (ELF gABI note layout: namesz, descsz, type, then name and descriptor, each padded
 * to 4 bytes). */
#define _GNU_SOURCE
#include "build_id.h"

#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct build_id_search {
    uintptr_t address;
    char *hex;
    size_t size;
    int found;
} build_id_search;

static size_t pad4(size_t n) {
    return (n + 3) & ~(size_t)3;
}

static int note_build_id(const unsigned char *notes, size_t bytes, build_id_search *search) {
    size_t at = 0;
    while (at + sizeof(ElfW(Nhdr)) <= bytes) {
        ElfW(Nhdr) header;
        memcpy(&header, notes + at, sizeof header);
        const size_t name_at = at + sizeof header, desc_at = name_at + pad4(header.n_namesz);
        if (desc_at > bytes || header.n_descsz > bytes - desc_at) return 0;
        if (header.n_type == NT_GNU_BUILD_ID && header.n_namesz == 4 &&
            !memcmp(notes + name_at, "GNU", 4) && header.n_descsz > 0 &&
            2 * (size_t)header.n_descsz < search->size) {
            for (size_t i = 0; i < header.n_descsz; i++)
                snprintf(search->hex + 2 * i, 3, "%02x", notes[desc_at + i]);
            return 1;
        }
        at = desc_at + pad4(header.n_descsz);
    }
    return 0;
}

static int visit_object(struct dl_phdr_info *info, size_t info_size, void *data) {
    (void)info_size;
    build_id_search *search = data;
    int holds = 0;
    for (int i = 0; i < info->dlpi_phnum && !holds; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        const uintptr_t start = info->dlpi_addr + p->p_vaddr;
        holds = p->p_type == PT_LOAD && search->address >= start &&
                search->address - start < p->p_memsz;
    }
    if (!holds) return 0;
    for (int i = 0; i < info->dlpi_phnum && !search->found; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        if (p->p_type == PT_NOTE)
            search->found = note_build_id((const unsigned char *)(info->dlpi_addr + p->p_vaddr),
                                          p->p_memsz, search);
    }
    return 1; /* the object holding the address: stop either way */
}

int facet_build_id(const void *address, char *hex, size_t size) {
    build_id_search search = {(uintptr_t)address, hex, size, 0};
    if (!hex || size == 0) return 0;
    hex[0] = '\0';
    dl_iterate_phdr(visit_object, &search);
    return search.found;
}

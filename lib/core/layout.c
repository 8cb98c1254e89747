/* The flash layout, computed from the geometry and the sizes (layout.h):
 * every region is a whole number of erase sectors, in a fixed order, so the
 * agent, the bootloader and the simulator find the same regions without a
 * layout table on flash that could itself be corrupted. */
#include <nobrick/caps.h>
#include <nobrick/dualrec.h>
#include <nobrick/layout.h>

#include <string.h>

/* The journal payload is a few dozen bytes; one sector per copy. */
#define JOURNAL_COPY_LEN 256u

/* Places regions one after the other, failing once on overflow. */
struct cursor {
    uint64_t off;
    uint32_t erase;
    bool overflow;
};

static uint64_t round_up(uint64_t n, uint32_t align, bool *overflow)
{
    uint64_t rem = n % align;
    if (rem == 0)
        return n;
    if (n > UINT64_MAX - (align - rem)) {
        *overflow = true;
        return 0;
    }
    return n + (align - rem);
}

static struct nb_region place(struct cursor *c, uint64_t len)
{
    uint64_t rounded = round_up(len, c->erase, &c->overflow);
    struct nb_region r = {.off = c->off, .len = rounded};
    if (c->overflow || rounded > UINT64_MAX - c->off) {
        c->overflow = true;
        return (struct nb_region){0, 0};
    }
    c->off += rounded;
    return r;
}

enum nb_err nb_layout_compute(uint32_t erase_size, uint64_t slot_size, uint32_t meta_size,
                              bool has_gold, struct nb_layout *out)
{
    if (erase_size == 0 || (erase_size & (erase_size - 1)) != 0 || slot_size == 0)
        return NB_EINVAL;
    struct nb_layout l;
    struct cursor c = {.off = 0, .erase = erase_size, .overflow = false};
    uint64_t meta = meta_size != 0 ? meta_size : NB_LAYOUT_META_DEFAULT;
    int n_slots = has_gold ? NB_BOOTCTL_SLOTS : 2;

    memset(&l, 0, sizeof l);
    l.has_gold = has_gold;
    for (int i = 0; i < 2; i++)
        l.bootctl[i] = place(&c, NB_BOOTCTL_RECORD_LEN + NB_DUALREC_OVERHEAD);
    for (int i = 0; i < 2; i++)
        l.journal[i] = place(&c, JOURNAL_COPY_LEN);
    for (int i = 0; i < 2; i++)
        l.trust[i] = place(&c, NB_LAYOUT_TRUST_LEN);
    l.caps = place(&c, NB_CAPS_LEN);
    for (int i = 0; i < n_slots; i++)
        l.meta[i] = place(&c, meta);
    for (int i = 0; i < n_slots; i++)
        l.slot[i] = place(&c, slot_size);
    if (c.overflow)
        return NB_ELENGTH;
    l.slot_size = l.slot[NB_BOOTCTL_A].len;
    l.end = c.off;
    *out = l;
    return NB_OK;
}

static enum nb_err check_region(const struct nb_region *r, const char *name, int i,
                                const struct nb_flash_geometry *g, struct nb_diag *diag)
{
    if (r->len > g->size || r->off > g->size - r->len)
        return nb_diag_set(diag, NB_ENOSPC, "layout: %s[%d] ends at %llu, past the flash size %llu",
                           name, i, (unsigned long long)(r->off + r->len),
                           (unsigned long long)g->size);
    if (!nb_region_valid(r, g))
        return nb_diag_set(diag, NB_EINVAL,
                           "layout: %s[%d] is not aligned to the flash erase size %u", name, i,
                           (unsigned)g->erase_size);
    return NB_OK;
}

enum nb_err nb_layout_check(const struct nb_layout *l, const struct nb_flash_geometry *g,
                            struct nb_diag *diag)
{
    struct {
        const struct nb_region *r;
        const char *name;
        int n;
    } groups[] = {{l->bootctl, "bootctl", 2}, {l->journal, "journal", 2}, {l->trust, "trust", 2},
                  {&l->caps, "caps", 1},      {l->meta, "meta", 3},       {l->slot, "slot", 3}};
    if (l->end > g->size)
        return nb_diag_set(diag, NB_ENOSPC, "layout: needs %llu bytes of flash, the flash has %llu",
                           (unsigned long long)l->end, (unsigned long long)g->size);
    for (size_t k = 0; k < sizeof groups / sizeof groups[0]; k++) {
        for (int i = 0; i < groups[k].n; i++) {
            if (groups[k].r[i].len == 0 && i == NB_BOOTCTL_GOLD && !l->has_gold)
                continue;
            enum nb_err err = check_region(&groups[k].r[i], groups[k].name, i, g, diag);
            if (err != NB_OK)
                return err;
        }
    }
    return NB_OK;
}

const char *nb_slot_name(enum nb_bootctl_slot_id id)
{
    switch (id) {
    case NB_BOOTCTL_A:
        return "A";
    case NB_BOOTCTL_B:
        return "B";
    case NB_BOOTCTL_GOLD:
        return "gold";
    }
    return "?";
}

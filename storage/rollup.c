/*
 * storage: what rollup cells mean: the kind of cell that answers a query, the layout
 * of a VEC cell's counters, time units, and the split of a date range into whole
 * years, whole months and edge days. The cells themselves are in memory (memroll.c).
 */

#include "store_int.h"

int store_rollup_kind_for(int nused, int gran)
{
    if (nused >= 2 || gran == STORE_GRAN_DAY)
        return STORE_ROLL_MEM;
    return STORE_ROLL_VEC;
}

size_t store_vec_offset(const struct proto_type_desc *td, int i)
{
    size_t off = 1;

    for (int j = 0; j < i; j++)
        off += td->enums[j]->nvalues;
    return off;
}

size_t store_vec_len(const struct proto_type_desc *td)
{
    return store_vec_offset(td, td->nenums);
}

int32_t store_time_unit(int32_t date, int gran)
{
    int y, m, d;

    if (gran == STORE_GRAN_DAY)
        return date;
    proto_date_split(date, &y, &m, &d);
    return gran == STORE_GRAN_YEAR ? y : y * 12 + m - 1;
}

int32_t store_unit_first(int gran, int32_t unit)
{
    switch (gran) {
    case STORE_GRAN_YEAR:
        return proto_date_from_ymd(unit, 1, 1);
    case STORE_GRAN_MONTH:
        return proto_date_from_ymd(unit / 12, unit % 12 + 1, 1);
    default:
        return unit;
    }
}

int32_t store_unit_last(int gran, int32_t unit)
{
    switch (gran) {
    case STORE_GRAN_YEAR:
        return proto_date_from_ymd(unit, 12, 31);
    case STORE_GRAN_MONTH:
        return store_unit_first(STORE_GRAN_MONTH, unit + 1) - 1;
    default:
        return unit;
    }
}

/* Split [a, b] into days, months and the days after them, when month_mode; the
 * month spans are omitted when [a, b] holds no whole month. */
static size_t decompose_months(int32_t a, int32_t b, struct store_span *out)
{
    int32_t m1 = store_time_unit(a, STORE_GRAN_MONTH), m2 = store_time_unit(b, STORE_GRAN_MONTH);
    size_t n = 0;

    if (store_unit_first(STORE_GRAN_MONTH, m1) != a)
        m1++;
    if (store_unit_last(STORE_GRAN_MONTH, m2) != b)
        m2--;
    if (m1 > m2) {
        out[n++] = (struct store_span){STORE_GRAN_DAY, a, b};
        return n;
    }
    if (a < store_unit_first(STORE_GRAN_MONTH, m1))
        out[n++] =
            (struct store_span){STORE_GRAN_DAY, a, store_unit_first(STORE_GRAN_MONTH, m1) - 1};
    out[n++] = (struct store_span){STORE_GRAN_MONTH, m1, m2};
    if (store_unit_last(STORE_GRAN_MONTH, m2) < b)
        out[n++] =
            (struct store_span){STORE_GRAN_DAY, store_unit_last(STORE_GRAN_MONTH, m2) + 1, b};
    return n;
}

size_t store_decompose(int32_t a, int32_t b, int month_mode, struct store_span out[5])
{
    int32_t y1, y2;
    size_t n = 0;
    struct store_span left[3], right[3];
    size_t nl, nr;

    if (a > b)
        return 0;
    if (month_mode)
        return decompose_months(a, b, out);
    y1 = store_time_unit(a, STORE_GRAN_YEAR);
    y2 = store_time_unit(b, STORE_GRAN_YEAR);
    if (store_unit_first(STORE_GRAN_YEAR, y1) != a)
        y1++;
    if (store_unit_last(STORE_GRAN_YEAR, y2) != b)
        y2--;
    if (y1 > y2)
        return decompose_months(a, b, out);
    /* Each edge lies within one year, so it needs at most a day run and a month run. */
    nl = a < store_unit_first(STORE_GRAN_YEAR, y1)
             ? decompose_months(a, store_unit_first(STORE_GRAN_YEAR, y1) - 1, left)
             : 0;
    nr = store_unit_last(STORE_GRAN_YEAR, y2) < b
             ? decompose_months(store_unit_last(STORE_GRAN_YEAR, y2) + 1, b, right)
             : 0;
    for (size_t i = 0; i < nl; i++)
        out[n++] = left[i];
    out[n++] = (struct store_span){STORE_GRAN_YEAR, y1, y2};
    for (size_t i = 0; i < nr; i++)
        out[n++] = right[i];
    return n;
}

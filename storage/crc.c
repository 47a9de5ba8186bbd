/*
 * storage: CRC-32C (Castagnoli), the checksum of the memory part's checkpoint file and
 * of the write-ahead log's frames. The CPU's crc32 instruction where it has one (SSE
 * 4.2: some GB/s, so checking a 2 GB checkpoint costs a fraction of reading it), else
 * eight table lookups per eight bytes.
 */
#include <string.h>

#include "store_int.h"

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static int crc_hw;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
#if defined(__x86_64__)
    crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t c, const uint8_t *p, size_t n)
{
    uint64_t c64 = c, w;

    for (; n >= 8; p += 8, n -= 8) {
        memcpy(&w, p, 8);
        c64 = __builtin_ia32_crc32di(c64, w);
    }
    c = (uint32_t)c64;
    for (; n > 0; p++, n--)
        c = __builtin_ia32_crc32qi(c, *p);
    return c;
}
#endif

static uint32_t crc_tables(uint32_t c, const uint8_t *p, size_t n)
{
    uint64_t w;

    for (; n >= 8; p += 8, n -= 8) {
        memcpy(&w, p, 8);
        w ^= c; /* little-endian: the crc meets the first four bytes */
        c = crc_table[7][w & 0xff] ^ crc_table[6][(w >> 8) & 0xff] ^
            crc_table[5][(w >> 16) & 0xff] ^ crc_table[4][(w >> 24) & 0xff] ^
            crc_table[3][(w >> 32) & 0xff] ^ crc_table[2][(w >> 40) & 0xff] ^
            crc_table[1][(w >> 48) & 0xff] ^ crc_table[0][w >> 56];
    }
    for (; n > 0; p++, n--)
        c = crc_table[0][(c ^ *p) & 0xff] ^ (c >> 8);
    return c;
}

uint32_t store_crc32c(uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;
    uint32_t c = ~crc;

    pthread_once(&crc_once, crc_init);
#if defined(__x86_64__)
    if (crc_hw)
        return ~crc_sse42(c, p, n);
#endif
    return ~crc_tables(c, p, n);
}

uint32_t store_crc32c_soft(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&crc_once, crc_init);
    return ~crc_tables(~crc, data, n);
}

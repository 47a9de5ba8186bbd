/*
 * Unit tests of storage's ids index (ids.c): SipHash-2-4 against the reference vectors
 * and against OpenSSL's SIPHASH, and the table: growth, equal hashes holding several
 * seqs, a batch's changes staged, dropped and merged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "store_int.h"

/* The reference implementation's key 00..0f and messages 00, 00 01, ... (SipHash paper,
 * appendix A; vectors.h of the reference code), as 64-bit values. */
static const uint64_t ref_vectors[16] = {
    0x726fdb47dd0e0e31ULL, 0x74f839c593dc67fdULL, 0x0d6c8009d9a94f5aULL, 0x85676696d7fb7e2dULL,
    0xcf2794e0277187b7ULL, 0x18765564cd99a68dULL, 0xcbc9466e58fee3ceULL, 0xab0200f58b01d137ULL,
    0x93f5f5799a932462ULL, 0x9e0082df0ba9e4b0ULL, 0x7a5dbbc594ddb9f3ULL, 0xf4b32f46226bada7ULL,
    0x751e8fbc860ee5fbULL, 0x14ea5627c0843d90ULL, 0xf723ca908e7af2eeULL, 0xa129ca6149be45e5ULL,
};

/* OpenSSL's SipHash-2-4 of data (8-byte output, little-endian). */
static uint64_t openssl_siphash(const uint8_t key[16], const uint8_t *data, size_t len)
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
    EVP_MAC_CTX *ctx;
    size_t size = 8, outlen = 0;
    OSSL_PARAM params[2];
    uint8_t out[8];
    uint64_t v = 0;

    assert_non_null(mac);
    ctx = EVP_MAC_CTX_new(mac);
    assert_non_null(ctx);
    params[0] = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size);
    params[1] = OSSL_PARAM_construct_end();
    assert_int_equal(EVP_MAC_init(ctx, key, 16, params), 1);
    assert_int_equal(EVP_MAC_update(ctx, data, len), 1);
    assert_int_equal(EVP_MAC_final(ctx, out, &outlen, sizeof out), 1);
    assert_int_equal(outlen, 8);
    for (int i = 7; i >= 0; i--)
        v = v << 8 | out[i];
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return v;
}

static void test_siphash_vectors(void **state)
{
    uint8_t key[16], msg[64];

    (void)state;
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;
    for (size_t len = 0; len < 16; len++)
        assert_true(store_siphash(key, msg, len) == ref_vectors[len]);
    for (size_t len = 0; len <= 64; len++)
        assert_true(store_siphash(key, msg, len) == openssl_siphash(key, msg, len));
}

/* Random keys and messages of every length up to 300 bytes (an id key is up to about
 * 230): the same as OpenSSL's. */
static void test_siphash_openssl(void **state)
{
    uint8_t key[16], msg[300];
    uint64_t x = 88172645463325252ULL;

    (void)state;
    for (int round = 0; round < 4; round++) {
        for (size_t i = 0; i < sizeof key; i++)
            key[i] = (uint8_t)((x = x * 6364136223846793005ULL + 1442695040888963407ULL) >> 56);
        for (size_t i = 0; i < sizeof msg; i++)
            msg[i] = (uint8_t)((x = x * 6364136223846793005ULL + 1442695040888963407ULL) >> 56);
        for (size_t len = 0; len <= sizeof msg; len++)
            assert_true(store_siphash(key, msg, len) == openssl_siphash(key, msg, len));
    }
}

/* The seqs the table holds under h, as a bit set of seqs below 64. */
static uint64_t seqs_of(const struct store_ids *t, uint64_t h)
{
    uint64_t set = 0;
    size_t pos;

    for (uint64_t s = store_ids_first(t, h, &pos); s; s = store_ids_next(t, h, &pos))
        set |= (uint64_t)1 << s;
    return set;
}

static void test_table(void **state)
{
    struct store_ids t;

    (void)state;
    memset(&t, 0, sizeof t);
    assert_int_equal(seqs_of(&t, 5), 0); /* empty, no slots yet */
    /* equal hashes hold several seqs; a hash differing in bits above the table's only lands on
     * the same slot and is not among them */
    assert_int_equal(store_ids_reserve(&t, 3), WM_OK);
    store_ids_add(&t, 5, 1);
    store_ids_add(&t, 5, 2);
    store_ids_add(&t, 5 | (uint64_t)1 << 20, 3);
    assert_int_equal(seqs_of(&t, 5), 1u << 1 | 1u << 2);
    assert_int_equal(seqs_of(&t, 5 | (uint64_t)1 << 20), 1u << 3);

    /* a batch: a new key, and seq 2 replaced by 7 */
    assert_int_equal(store_ids_stage(&t, 9, 6, 0), WM_OK);
    assert_int_equal(store_ids_stage(&t, 5, 7, 2), WM_OK);
    assert_int_equal(t.nadd, 1);
    /* dropped (a failed commit): the table is as it was */
    store_ids_drop(&t);
    assert_int_equal(t.nchg, 0);
    assert_int_equal(t.chgtab.n, 0);
    for (size_t i = 0; i < t.chgtab.cap; i++)
        assert_true(t.chgtab.slots[i] == 0);
    assert_int_equal(seqs_of(&t, 9), 0);
    assert_int_equal(seqs_of(&t, 5), 1u << 1 | 1u << 2);
    /* again, merged (committed) */
    assert_int_equal(store_ids_stage(&t, 9, 6, 0), WM_OK);
    assert_int_equal(store_ids_stage(&t, 5, 7, 2), WM_OK);
    assert_int_equal(store_ids_reserve(&t, t.nadd), WM_OK);
    store_ids_merge(&t);
    assert_int_equal(t.nchg, 0);
    assert_int_equal(t.n, 4);
    assert_int_equal(seqs_of(&t, 9), 1u << 6);
    assert_int_equal(seqs_of(&t, 5), 1u << 1 | 1u << 7);

    /* growth keeps every entry, at most three quarters full */
    assert_int_equal(store_ids_reserve(&t, 5000), WM_OK);
    for (uint64_t i = 0; i < 5000; i++)
        store_ids_add(&t, i * 0x9e3779b97f4a7c15ULL, 100 + i);
    assert_true(t.n * 4 <= t.cap * 3);
    assert_int_equal(seqs_of(&t, 9), 1u << 6);
    for (uint64_t i = 0; i < 5000; i++) {
        size_t pos;
        uint64_t s = store_ids_first(&t, i * 0x9e3779b97f4a7c15ULL, &pos), found = 0;
        for (; s; s = store_ids_next(&t, i * 0x9e3779b97f4a7c15ULL, &pos))
            found |= s == 100 + i;
        assert_true(found);
    }
    store_ids_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siphash_vectors),
        cmocka_unit_test(test_siphash_openssl),
        cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * page_cost: what memory costs the memory part on this machine, beside the code: the
 * first touch of new pages (a start that loads a checkpoint writes every page of the
 * memory part once), and random writes into a table before, while and after a forked
 * child shares it (the checkpoint's child), with 4 KiB pages and with transparent huge
 * pages. Usage: page_cost [MIB] [ROUNDS]   (defaults: 512, 3)
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ACCESSES 2000000

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t *table_new(size_t bytes, int huge)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED)
        return NULL;
    (void)madvise(p, bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
    return p;
}

/* Nanoseconds per random read-modify-write of one slot, as a rollup cell's count. */
static double random_writes(uint64_t *t, size_t n)
{
    uint64_t x = 88172645463325252ull, sum = 0;
    double t0 = now_s();

    for (int i = 0; i < ACCESSES; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        sum += t[x % n]++;
    }
    if (sum == 1) /* keeps the loop from being optimised away */
        putchar(' ');
    return (now_s() - t0) / ACCESSES * 1e9;
}

static int one_round(size_t mib, int huge)
{
    size_t bytes = mib << 20, n = bytes / sizeof(uint64_t);
    uint64_t *t = table_new(bytes, huge);
    double t0, touch, before, shared, after;
    pid_t child;

    if (!t) {
        perror("page_cost: mmap");
        return -1;
    }
    t0 = now_s();
    memset(t, 1, bytes);
    touch = now_s() - t0;
    before = random_writes(t, n);
    child = fork();
    if (child < 0) {
        perror("page_cost: fork");
        munmap(t, bytes);
        return -1;
    }
    if (child == 0) {
        sleep(2); /* a checkpoint's child: holds the pages while the parent writes */
        _exit(0);
    }
    shared = random_writes(t, n);
    waitpid(child, NULL, 0);
    after = random_writes(t, n);
    printf("%-9s %5zu MiB  first touch %6.2f s (%5.1f us per 4 KiB)   random write, ns: "
           "before fork %7.0f, child sharing %7.0f, after it exited %7.0f\n",
           huge ? "huge" : "4 KiB", mib, touch, touch / (double)(bytes / 4096) * 1e6, before,
           shared, after);
    munmap(t, bytes);
    return 0;
}

int main(int argc, char **argv)
{
    long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 512;
    long rounds = argc > 2 ? strtol(argv[2], NULL, 10) : 3;

    if (mib < 1 || mib > 65536 || rounds < 1 || rounds > 100) {
        fprintf(stderr, "usage: page_cost [MIB 1-65536] [ROUNDS 1-100]\n");
        return 2;
    }
    for (long r = 0; r < rounds; r++)
        for (int huge = 0; huge < 2; huge++)
            if (one_round((size_t)mib, huge) != 0)
                return 1;
    return 0;
}

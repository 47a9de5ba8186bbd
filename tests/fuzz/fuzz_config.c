/*
 * libFuzzer target for werkmonitord's config file parser (daemon/config.c): one input is
 * a config file. It either loads, and then prints as a config file that loads again to
 * the same settings, or is refused with a message naming the file and line.
 */
#include "fuzz.h"

#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1, fd2 = -1;
    static struct config cfg, again;
    char path[64], path2[64], err[1024];
    char *printed = NULL;
    size_t plen = 0;
    FILE *out;

    fuzz_memory_file(&fd, data, size, path, sizeof(path));
    config_defaults(&cfg);
    err[0] = '\0';
    if (config_load_file(&cfg, path, err, sizeof(err)) != WM_OK) {
        fuzz_check(strncmp(err, path, strlen(path)) == 0, "an error names the file");
        return 0;
    }
    /* what --check-config prints must load again, to the same settings */
    out = open_memstream(&printed, &plen);
    if (out == NULL)
        abort();
    config_print(&cfg, out);
    fclose(out);
    fuzz_memory_file(&fd2, printed, plen, path2, sizeof(path2));
    config_defaults(&again);
    fuzz_check(config_load_file(&again, path2, err, sizeof(err)) == WM_OK,
               "the printed configuration loads");
    fuzz_check(again.n_listen == cfg.n_listen && again.max_line == cfg.max_line &&
                   again.max_connections == cfg.max_connections &&
                   again.idle_timeout == cfg.idle_timeout && again.map_size == cfg.map_size &&
                   again.n_gemeenten == cfg.n_gemeenten &&
                   strcmp(again.data_dir, cfg.data_dir) == 0,
               "the printed configuration is the same");
    free(printed);
    return 0;
}

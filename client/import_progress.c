/*
 * import's progress bar on stderr, when stderr is a terminal: the share of the input
 * answered (when its size is known), rows, rows per second and the time left, redrawn
 * at most five times a second.
 */
#include <unistd.h>

#include "import_int.h"

void imp_progress_start(struct imp *im)
{
    im->bar.on = isatty(STDERR_FILENO);
    im->bar.start_us = cli_now_us();
}

void imp_progress_clear(const struct imp *im)
{
    if (im->bar.on)
        fputs("\r\033[K", stderr);
}

void imp_progress_draw(struct imp *im)
{
    int64_t now = cli_now_us();
    double secs = (double)(now - im->bar.start_us) / 1e6;
    double rate;
    unsigned long done = im->stored + im->dups + im->rejected;

    if (!im->bar.on || now - im->bar.drawn_us < 200000)
        return;
    im->bar.drawn_us = now;
    rate = secs > 0 ? done / secs : 0;
    if (imp_input_fraction(im, im->acked_off) >= 0) {
        double frac = imp_input_fraction(im, im->acked_off);
        int filled;
        char bar[31];
        double eta;

        if (frac > 1)
            frac = 1;
        filled = (int)(frac * 30);
        eta = frac > 0.001 ? secs * (1 - frac) / frac : 0;
        for (int i = 0; i < 30; i++)
            bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
        bar[30] = '\0';
        fprintf(stderr, "\r\033[K%3d%% [%s] %lu rows  %.0f rows/s  ETA %d:%02d", (int)(frac * 100),
                bar, done, rate, (int)eta / 60, (int)eta % 60);
    } else {
        fprintf(stderr, "\r\033[K%lu rows  %.0f rows/s", done, rate);
    }
}

// The disk alone: N times, write PAGES 4 KB pages at the end of a file in DIR and
// fdatasync it (what one SQLite WAL commit does); prints p50/p90/p99/p999/max.
//   fsync_probe DIR [N] [PAGES]      defaults 2000 and 8
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: fsync_probe DIR [N] [PAGES]\n"); return 2; }
  int n = argc > 2 ? atoi(argv[2]) : 2000, pages = argc > 3 ? atoi(argv[3]) : 8;
  if (n < 1 || pages < 1 || pages > 64) { fprintf(stderr, "fsync_probe: N >= 1, 1 <= PAGES <= 64\n"); return 2; }
  char path[4096];
  snprintf(path, sizeof path, "%s/fsync_probe.%d", argv[1], (int)getpid());
  int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
  if (fd < 0) { perror("fsync_probe: open"); return 1; }
  static char page[4096];
  memset(page, 0x5a, sizeof page);
  double *ms = malloc(sizeof(double) * (size_t)n);
  off_t off = 0;
  for (int i = 0; i < n; i++) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int p = 0; p < pages; p++, off += 4096)
      if (pwrite(fd, page, sizeof page, off) != (ssize_t)sizeof page) { perror("fsync_probe: pwrite"); return 1; }
    if (off >= 4096L * 4000) off = 0;  // like a WAL that restarts after a checkpoint
    if (fdatasync(fd) != 0) { perror("fsync_probe: fdatasync"); return 1; }
    clock_gettime(CLOCK_MONOTONIC, &b);
    ms[i] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
  }
  close(fd);
  unlink(path);
  qsort(ms, (size_t)n, sizeof(double), cmp);
  printf("disk alone: %d x (%d pages + fdatasync) p50=%.3f p90=%.3f p99=%.3f p999=%.3f max=%.3f ms\n", n, pages,
         ms[n / 2], ms[n * 9 / 10], ms[n * 99 / 100], ms[n * 999 / 1000], ms[n - 1]);
  free(ms);
  return 0;
}

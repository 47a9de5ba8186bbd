#!/usr/bin/env python3
"""gen_import: write a CSV export of N events for `werkmonitor import` benchmarks.

  python3 tests/bench/gen_import.py 1000000 > /var/tmp/import-1m.csv
  build/werkmonitor bench --no-setup -n 1 -c 1     # creates the benchmark's projects
  time build/werkmonitor import /var/tmp/import-1m.csv

Rows look like a municipality's export: `;`-separated with a byte-order mark, one event
a row with a `type` column, dates in rough chronological order over 2023 (as exported
month by month), persons repeating, the benchmark's projects (see `werkmonitor bench`).
"""
import random
import sys
import time

PROJECTS = ["zorgstart", "wijkleerbedrijf", "taal-werkt", "techniek-academie",
            "jongeren-specialist", "ggz-traject", "doorstroombanen-zorg", "gvw-werkt-door"]
GEMEENTEN = ["blaricum", "eemnes", "gooise-meren", "hilversum", "huizen", "laren",
             "weesp", "wijdemeren"]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    rnd = random.Random(seed)
    first = 19358  # 2023-01-01
    out = sys.stdout
    out.write("\ufefftype;id;person;gemeente;date;project;kind;result;sector;months;benefit;reason\n")
    rows = []
    for i in range(n):
        day = first + i * 365 // n
        date = time.strftime("%Y-%m-%d", time.gmtime(day * 86400))
        person = "imp-%08d" % rnd.randrange(max(1, n // 4))
        g = GEMEENTEN[rnd.randrange(8)]
        p = PROJECTS[rnd.randrange(len(PROJECTS))]
        t = rnd.random()
        if t < 0.4:
            rows.append(f"started;imp{seed}-{i};{person};{g};{date};{p};scholing;;;;;")
        elif t < 0.65:
            rows.append(f"completed;imp{seed}-{i};{person};{g};{date};{p};;diploma;;;;")
        elif t < 0.85:
            rows.append(f"placed;imp{seed}-{i};{person};{g};{date};{p};;;zorg;{rnd.randrange(13)};;")
        else:
            rows.append(f"outflow;imp{seed}-{i};{person};{g};{date};;;;;;pw;werk")
        if len(rows) >= 10000:
            out.write("\n".join(rows) + "\n")
            rows = []
    if rows:
        out.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()

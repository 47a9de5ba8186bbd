#!/usr/bin/env python3
"""gen_import: write a CSV export of N events for `werkmonitor import` benchmarks.

  python3 tests/bench/gen_import.py 1000000 > /var/tmp/import-1m.csv
  build/werkmonitor bench --no-setup -n 1 -c 1     # creates the benchmark's projects
  time build/werkmonitor import /var/tmp/import-1m.csv

Rows look like a municipality's export: `;`-separated with a byte-order mark, one event
a row with a `type` column, dates in rough chronological order over 2023 (as exported
month by month), persons repeating, the benchmark's projects (see `werkmonitor bench`).

  python3 tests/bench/gen_import.py --messy /var/tmp/messy.map 1000000 > /var/tmp/messy.csv
  build/werkmonitor import --map /var/tmp/messy.map /var/tmp/messy.csv

writes the same events (same N and seed) as Dutch Excel and a case system would: Dutch
column names, the system's own words for the types (Gestart, Afgerond, ...) translated
by the map it writes to the given file, dates day first (1-3-2023, 01-03-2023,
01/03/2023), names and values in mixed case (Gooise Meren, ZorgStart, Zorg, PW), months
as 12,0, and two columns the map ignores. tests/bench/import_ab.py times the two
against each other.
"""
import random
import sys
import time

PROJECTS = ["zorgstart", "wijkleerbedrijf", "taal-werkt", "techniek-academie",
            "jongeren-specialist", "ggz-traject", "doorstroombanen-zorg", "gvw-werkt-door"]
GEMEENTEN = ["blaricum", "eemnes", "gooise-meren", "hilversum", "huizen", "laren",
             "weesp", "wijdemeren"]

MESSY_HEADER = ("Soort;Dossiernummer;Persoon;Gemeente;Datum;Traject;Soort traject;Resultaat;"
                "Branche;Contractduur (mnd);Uitkering;Reden;Opmerking;Telefoonnummer")
MESSY_MAP = """# written by tests/bench/gen_import.py --messy
[columns]
Dossiernummer = id
Traject = project
Soort traject = kind
Branche = sector
Contractduur (mnd) = months

[values type]
Gestart = started
Afgerond = completed
Geplaatst = placed
Uitstroom = outflow

[ignore]
Opmerking
Telefoonnummer
"""
TYPE_WORDS = {"started": "Gestart", "completed": "Afgerond", "placed": "Geplaatst",
              "outflow": "Uitstroom"}
NOTES = ["", "", "belt terug", "start na de zomer", "", "dossier compleet"]


def title(name):
    """gooise-meren -> Gooise Meren, taal-werkt -> Taal-Werkt: as a person types it."""
    return " ".join(w.capitalize() for w in name.split("-")) if name in GEMEENTEN else \
        "-".join(w.capitalize() for w in name.split("-"))


def messy_date(day, i):
    y, m, d = time.gmtime(day * 86400)[:3]
    return ("%d-%d-%d" % (d, m, y), "%02d-%02d-%d" % (d, m, y), "%02d/%02d/%d" % (d, m, y))[i % 3]


def events(n, seed):
    """(i, type, id, person, gemeente, day, project, months) in the benchmark's order."""
    rnd = random.Random(seed)
    first = 19358  # 2023-01-01
    for i in range(n):
        day = first + i * 365 // n
        person = "imp-%08d" % rnd.randrange(max(1, n // 4))
        g = GEMEENTEN[rnd.randrange(8)]
        p = PROJECTS[rnd.randrange(len(PROJECTS))]
        t = rnd.random()
        months = None
        if t < 0.4:
            typ = "started"
        elif t < 0.65:
            typ = "completed"
        elif t < 0.85:
            typ = "placed"
            months = rnd.randrange(13)
        else:
            typ = "outflow"
        yield i, typ, "imp%d-%d" % (seed, i), person, g, day, p, months


def plain_row(e):
    i, typ, id_, person, g, day, p, months = e
    date = time.strftime("%Y-%m-%d", time.gmtime(day * 86400))
    if typ == "started":
        return f"started;{id_};{person};{g};{date};{p};scholing;;;;;"
    if typ == "completed":
        return f"completed;{id_};{person};{g};{date};{p};;diploma;;;;"
    if typ == "placed":
        return f"placed;{id_};{person};{g};{date};{p};;;zorg;{months};;"
    return f"outflow;{id_};{person};{g};{date};;;;;;pw;werk"


def messy_row(e):
    i, typ, id_, person, g, day, p, months = e
    word = TYPE_WORDS[typ]
    word = (word, word.upper(), word.lower())[i % 3]
    date = messy_date(day, i)
    tail = "%s;035-%07d" % (NOTES[i % len(NOTES)], i % 10000000)
    gm = title(g)
    if typ == "started":
        return f"{word};{id_};{person};{gm};{date};{title(p)};Scholing;;;;;;{tail}"
    if typ == "completed":
        return f"{word};{id_};{person};{gm};{date};{title(p)};;Diploma;;;;;{tail}"
    if typ == "placed":
        return f"{word};{id_};{person};{gm};{date};{title(p)};;;Zorg;{months},0;;;{tail}"
    return f"{word};{id_};{person};{gm};{date};;;;;;PW;Werk;{tail}"


def main():
    args = sys.argv[1:]
    messy_map = None
    if args[:1] == ["--messy"]:
        messy_map = args[1]
        args = args[2:]
        with open(messy_map, "w") as f:
            f.write(MESSY_MAP)
    n = int(args[0]) if len(args) > 0 else 1000000
    seed = int(args[1]) if len(args) > 1 else 1
    out = sys.stdout
    if messy_map:
        out.write("\ufeff" + MESSY_HEADER + "\r\n")
        row, eol = messy_row, "\r\n"
    else:
        out.write("\ufefftype;id;person;gemeente;date;project;kind;result;sector;months;benefit;reason\n")
        row, eol = plain_row, "\n"
    rows = []
    for e in events(n, seed):
        rows.append(row(e))
        if len(rows) >= 10000:
            out.write(eol.join(rows) + eol)
            rows = []
    if rows:
        out.write(eol.join(rows) + eol)


if __name__ == "__main__":
    main()

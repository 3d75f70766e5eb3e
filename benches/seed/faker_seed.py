"""The seeding script people write: Python Faker with its defaults, one row at a time, into CSV.

Baseline (b) of `cargo bench --bench seed` (benches/seed.rs), which times it on a sample and
loads the CSV with COPY; also what the bench loads for its raw baselines when
DBTWIN_BENCH_CSV_FROM_PYTHON=1 (before `dbtwin seed` exists).

usage: faker_seed.py users ROWS OUT.csv
       faker_seed.py orders ROWS USERS OUT.csv     (user_id drawn from 1..USERS)

Writes CSV (the columns of the bench's tables, in their order, no header) and prints the seconds
spent generating and writing, without the interpreter's start and Faker's import.
"""

import csv
import random
import sys
import time

from faker import Faker

STATUSES = ["pending", "paid", "shipped", "cancelled"]
STATUS_WEIGHTS = [1, 6, 12, 1]


def users(fake, rows, out):
    writer = csv.writer(out)
    for i in range(1, rows + 1):
        writer.writerow(
            [
                i,
                fake.unique.email(),
                fake.name(),
                fake.phone_number(),
                fake.street_address(),
                fake.city(),
                fake.country(),
                fake.date_time_between(start_date="-2y", end_date="now"),
                round(random.uniform(0, 5000), 2),
            ]
        )


def orders(fake, rows, user_count, out):
    writer = csv.writer(out)
    for i in range(1, rows + 1):
        writer.writerow(
            [
                i,
                random.randint(1, user_count),
                round(random.uniform(1, 900), 2),
                random.choices(STATUSES, STATUS_WEIGHTS)[0],
                fake.date_time_between(start_date="-2y", end_date="now"),
            ]
        )


def main():
    fake = Faker()
    Faker.seed(42)
    random.seed(42)
    table, rows = sys.argv[1], int(sys.argv[2])
    start = time.perf_counter()
    if table == "users":
        with open(sys.argv[3], "w", newline="") as out:
            users(fake, rows, out)
    elif table == "orders":
        with open(sys.argv[4], "w", newline="") as out:
            orders(fake, rows, int(sys.argv[3]), out)
    else:
        sys.exit(f"unknown table {table!r}")
    print(f"{time.perf_counter() - start:.6f}")


if __name__ == "__main__":
    main()

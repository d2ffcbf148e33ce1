// Test-only pause points, compiled into every build and off unless the
// environment asks: with AS_TEST_PAUSE_DIR=DIR, TestPause("p") finds whether
// DIR/p exists; if it does, it appends this process's pid and a newline to
// DIR/p.reached and waits until DIR/p is removed. Tests use them to hold a
// put or a gc run at a chosen point in another process and force an
// interleaving (tests/server/clients/scaleout_test.sh) instead of hoping
// for it. Points: put-before-commit, group-commit (a group commit's pack is
// sealed, its transaction next), gc-after-manifest-doom, gc-after-doom,
// gc-after-doom-batch and gc-after-sweep-batch (each batch of rows gc dooms
// or sweeps is committed, the next not yet), filter-write (a dedup filter
// file is synced under its temporary name).
#pragma once

namespace as {

void TestPause(const char* point);

}  // namespace as

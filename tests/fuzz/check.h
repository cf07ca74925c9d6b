/* check.h — the fuzz harnesses' assertion: a broken invariant is a crash libFuzzer records. */
#ifndef SY_FUZZ_CHECK_H
#define SY_FUZZ_CHECK_H

#define CHECK(c)                \
  do {                          \
    if (!(c)) __builtin_trap(); \
  } while (0)

#endif

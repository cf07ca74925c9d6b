/* text.h — byte-level text checks shared by every parser: UTF-8 and percent-decoding, each in one pass. */
#ifndef SY_CORE_TEXT_H
#define SY_CORE_TEXT_H

#include <stddef.h>

/* Returns 1 if s[0..len) is valid UTF-8 with no NUL. */
int sy__utf8_valid(const char *s, size_t len);
/* Like sy__utf8_valid, in the same single pass: on failure *bad_at (if not NULL) is the
 * offset of the first byte that does not begin a valid, complete sequence. */
int sy__utf8_check(const char *s, size_t len, size_t *bad_at);

/* Makes s[0..len) valid UTF-8 in place, for text that echoes input back (an error message
 * quoting a request byte, or cut by a "%.200s" in the middle of a character): every byte
 * that does not begin a valid, complete sequence (a NUL included) becomes '?'. The length
 * does not change. Returns the number of bytes replaced. */
size_t sy__utf8_clean(char *s, size_t len);

/* Percent-decodes s[0..n) into out (room for n + 1 bytes; out is NUL-terminated and
 * *outlen set). With plus_space, '+' decodes to a space (query strings). Returns 0, or
 * -1 when a '%' is not followed by two hex digits, the result holds a NUL, or it is not
 * UTF-8; *bad_at (if not NULL) is then the offset in s of the offending byte. */
int sy__url_decode(const char *s, size_t n, int plus_space, char *out, size_t *outlen, size_t *bad_at);

#endif

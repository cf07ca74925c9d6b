/* masterkey.h — the 32-byte master key file that SecureString values are sealed under. */
#ifndef SY_STORE_MASTERKEY_H
#define SY_STORE_MASTERKEY_H

#include <stddef.h>

#include "core/rc.h"
#include "core/secretbox.h"

#define SY_MASTERKEY_FILE_MAX 256 /* a key file larger than this is refused unread */

/* Decodes the contents of a key file: exactly 32 raw bytes, or 64 hex digits
 * (either case) optionally followed by "\n" or "\r\n". Pure. Returns SY_OK or
 * SY_EINVAL. */
sy_rc sy_masterkey_parse(const void *data, size_t len, unsigned char key[SY_SECRETBOX_KEY_LEN]);

/* Reads the key file at path (symlinks followed, so mounted secrets work).
 * Returns SY_OK; SY_ENOTFOUND when there is no such file; SY_EINVAL when it is not
 * a regular file, is too large, or does not parse; SY_EIO for other failures. The
 * file buffer is wiped before returning; on failure key is wiped too. */
sy_rc sy_masterkey_load(const char *path, unsigned char key[SY_SECRETBOX_KEY_LEN]);

/* Loads the key file at path, creating it first if it does not exist: 32 bytes
 * from RAND_bytes written as 64 hex digits and a newline to a temporary file
 * opened O_CREAT|O_EXCL with mode 0600, fsynced, then published with link(2),
 * which never replaces an existing file, and the directory fsynced. Either the
 * whole key file exists or none does, and when two processes race both end up
 * with the winner's key. An existing file is never rewritten, even when it does
 * not parse (that returns SY_EINVAL: sealed values depend on it). *created (may be
 * NULL) says whether this call made the file. Returns as sy_masterkey_load, and
 * SY_EIO when the file cannot be created. */
sy_rc sy_masterkey_load_or_create(const char *path, unsigned char key[SY_SECRETBOX_KEY_LEN], int *created);

#endif

/* masterkey.c — read, or atomically create, the master key file. */
#include "store/masterkey.h"

#include "core/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEX_KEY_LEN (2 * SY_SECRETBOX_KEY_LEN)

static int hex_val(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

sy_rc sy_masterkey_parse(const void *data, size_t len, unsigned char key[SY_SECRETBOX_KEY_LEN]) {
  const unsigned char *d = data;
  if (!data || !key) return SY_EINVAL;
  if (len == SY_SECRETBOX_KEY_LEN) {
    memcpy(key, d, SY_SECRETBOX_KEY_LEN);
    return SY_OK;
  }
  if (len == HEX_KEY_LEN + 2 && d[HEX_KEY_LEN] == '\r' && d[HEX_KEY_LEN + 1] == '\n') len -= 2;
  if (len == HEX_KEY_LEN + 1 && d[HEX_KEY_LEN] == '\n') len -= 1;
  if (len != HEX_KEY_LEN) return SY_EINVAL;
  for (size_t i = 0; i < SY_SECRETBOX_KEY_LEN; i++) {
    int hi = hex_val(d[2 * i]), lo = hex_val(d[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      OPENSSL_cleanse(key, SY_SECRETBOX_KEY_LEN);
      return SY_EINVAL;
    }
    key[i] = (unsigned char)(hi << 4 | lo);
  }
  return SY_OK;
}

/* Writes all n bytes, retrying short writes and EINTR. */
static int write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n) {
    ssize_t k = write(fd, c, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    c += k;
    n -= (size_t)k;
  }
  return 0;
}

sy_rc sy_masterkey_load(const char *path, unsigned char key[SY_SECRETBOX_KEY_LEN]) {
  unsigned char buf[SY_MASTERKEY_FILE_MAX + 1];
  size_t len = 0;
  struct stat st;
  int fd = -1;
  sy_rc rc = SY_EINVAL;

  if (!path || !*path || !key) goto out;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    rc = errno == ENOENT ? SY_ENOTFOUND : SY_EIO;
    goto out;
  }
  rc = SY_EIO;
  if (fstat(fd, &st) != 0) goto out;
  rc = SY_EINVAL;
  if (!S_ISREG(st.st_mode) || st.st_size > SY_MASTERKEY_FILE_MAX) goto out;
  /* Read to EOF (at most one byte past the cap) rather than trusting st_size. */
  for (;;) {
    ssize_t k = read(fd, buf + len, sizeof buf - len);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) {
      rc = SY_EIO;
      goto out;
    }
    if (k == 0) break;
    len += (size_t)k;
    if (len == sizeof buf) goto out; /* grew past the cap while we read */
  }
  rc = sy_masterkey_parse(buf, len, key);
out:
  if (fd >= 0) close(fd);
  OPENSSL_cleanse(buf, sizeof buf);
  if (rc && key) OPENSSL_cleanse(key, SY_SECRETBOX_KEY_LEN);
  return rc;
}

/* fsyncs the directory holding path, so a new name in it survives a crash. */
static sy_rc fsync_parent(const char *path) {
  char dir[PATH_MAX];
  const char *slash = strrchr(path, '/');
  size_t n = slash ? (size_t)(slash - path) : 0;
  int fd;
  sy_rc rc = SY_EIO;

  if (n >= sizeof dir) goto out;
  if (slash && n == 0) n = 1; /* "/key" lives in "/" */
  if (slash) {
    memcpy(dir, path, n);
    dir[n] = 0;
  } else {
    dir[0] = '.';
    dir[1] = 0;
  }
  fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) goto out;
  if (fsync(fd) == 0) rc = SY_OK;
  close(fd);
out:
  return rc;
}

/* Writes a new random key to a temporary file beside path and links it into
 * place. Sets *won to 1 when our file became path, 0 when another process's
 * already was there (EEXIST), in which case the caller loads that one. */
static sy_rc create_key_file(const char *path, int *won) {
  unsigned char key[SY_SECRETBOX_KEY_LEN], suffix[8];
  char text[HEX_KEY_LEN + 1], tmp[PATH_MAX];
  int fd = -1, k, linked = 0, made_tmp = 0;
  sy_rc rc = SY_EINTERNAL;

  *won = 0;
  if (RAND_bytes(key, sizeof key) != 1 || RAND_bytes(suffix, sizeof suffix) != 1) goto out;
  sy__hex(key, sizeof key, text);
  text[HEX_KEY_LEN] = '\n';
  k = snprintf(tmp, sizeof tmp, "%s.tmp.%02x%02x%02x%02x%02x%02x%02x%02x", path, suffix[0], suffix[1], suffix[2],
               suffix[3], suffix[4], suffix[5], suffix[6], suffix[7]);
  rc = SY_EINVAL;
  if (k < 0 || (size_t)k >= sizeof tmp) goto out;
  rc = SY_EIO;
  fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) goto out;
  made_tmp = 1;
  if (write_all(fd, text, sizeof text) != 0 || fsync(fd) != 0) goto out;
  if (close(fd) != 0) {
    fd = -1;
    goto out;
  }
  fd = -1;
  if (link(tmp, path) == 0) {
    linked = 1;
    *won = 1;
  } else if (errno != EEXIST) {
    goto out;
  }
  unlink(tmp);
  made_tmp = 0;
  rc = linked ? fsync_parent(path) : SY_OK;
out:
  if (fd >= 0) close(fd);
  if (made_tmp) unlink(tmp);
  OPENSSL_cleanse(key, sizeof key);
  OPENSSL_cleanse(text, sizeof text);
  return rc;
}

sy_rc sy_masterkey_load_or_create(const char *path, unsigned char key[SY_SECRETBOX_KEY_LEN], int *created) {
  int won = 0;
  sy_rc rc;

  if (created) *created = 0;
  rc = sy_masterkey_load(path, key);
  if (rc != SY_ENOTFOUND) goto out;
  rc = create_key_file(path, &won);
  if (rc) goto out;
  /* Read back what is now at path: ours, or the racing winner's. */
  rc = sy_masterkey_load(path, key);
  if (rc) goto out;
  if (created) *created = won;
out:
  return rc;
}

/* lock.c — one server per data directory: an exclusive flock on DATA/switchyard.lock.
 *
 * Two servers on one directory would each keep their own idea of the audit chain and
 * the parameter tree; the second's writes make every write of the first fail. The
 * lock is an flock(2) on an open file: the kernel drops it when the process dies, so a
 * lock file left by a killed server never blocks a restart. The file holds the PID of
 * the holder, for the message the next one prints. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "store/store_int.h"

/* The PID written in the lock file, or 0 when it holds none (yet). */
static long holder_pid(int fd) {
  char buf[32];
  ssize_t n;
  do n = pread(fd, buf, sizeof buf - 1, 0);
  while (n < 0 && errno == EINTR);
  if (n <= 0) return 0;
  buf[n] = 0;
  char *end = NULL;
  errno = 0;
  long pid = strtol(buf, &end, 10);
  if (errno || end == buf || (*end && *end != '\n') || pid <= 0) return 0;
  return pid;
}

/* Writes our PID over the old content: the new digits first, then the length cut, so a
 * reader never finds the file empty while we hold it. */
static sy_rc write_pid(int fd) {
  char buf[32];
  int k = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
  if (k <= 0 || (size_t)k >= sizeof buf) return SY_EINTERNAL;
  ssize_t n;
  do n = pwrite(fd, buf, (size_t)k, 0);
  while (n < 0 && errno == EINTR);
  if (n != k || ftruncate(fd, k)) return SY_EIO;
  return SY_OK;
}

sy_rc sy__dir_lock(const char *dir, int *out_fd, char *msg, size_t msgsz) {
  char path[4096];
  sy_rc rc = SY_OK;
  int fd = -1;
  *out_fd = -1;
  int k = snprintf(path, sizeof path, "%s/switchyard.lock", dir);
  if (k < 0 || (size_t)k >= sizeof path) {
    snprintf(msg, msgsz, "data directory path is too long: %.200s", dir);
    rc = SY_EINVAL;
    goto out;
  }
  do fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    snprintf(msg, msgsz, "cannot open the lock file %s: %s", path, strerror(errno));
    rc = SY_EIO;
    goto out;
  }
  int s;
  do s = flock(fd, LOCK_EX | LOCK_NB);
  while (s && errno == EINTR);
  if (s && errno != EWOULDBLOCK) {
    snprintf(msg, msgsz, "cannot lock %s: %s", path, strerror(errno));
    rc = SY_EIO;
    goto out;
  }
  if (s) {
    /* The holder writes its PID just after it locks: if we looked in between, we find
     * nothing or the PID of a server that is gone. Look again, briefly. */
    long pid = holder_pid(fd);
    for (int i = 0; i < 25 && (pid <= 0 || (kill((pid_t)pid, 0) && errno == ESRCH)); i++) {
      struct timespec ts = {0, 20 * 1000 * 1000};
      nanosleep(&ts, NULL);
      pid = holder_pid(fd);
    }
    if (pid > 0)
      snprintf(msg, msgsz,
               "data directory %s is in use by another switchyard server (pid %ld); stop it first or choose "
               "another --data",
               dir, pid);
    else
      snprintf(msg, msgsz,
               "data directory %s is in use by another switchyard server (pid unknown); stop it first or choose "
               "another --data",
               dir);
    rc = SY_EUNAVAILABLE;
    goto out;
  }
  rc = write_pid(fd);
  if (rc) {
    snprintf(msg, msgsz, "cannot write the lock file %s: %s", path, strerror(errno));
    goto out;
  }
  *out_fd = fd;
  fd = -1;
out:
  if (fd >= 0) close(fd);
  return rc;
}

void sy__dir_unlock(int fd) {
  if (fd < 0) return;
  /* the PID stays in the file: harmless, since only the flock counts */
  close(fd);
}

/*
 * Sets a file's access and modification times to the nanosecond. Node's fs.utimes goes through
 * libuv, which cuts times to whole microseconds; a restore must give back what was backed up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const struct {
  int number;
  const char *name;
} ERRNO_NAMES[] = {
    {ENOENT, "ENOENT"}, {EPERM, "EPERM"},     {EACCES, "EACCES"}, {EBADF, "EBADF"},
    {EROFS, "EROFS"},   {ENOTDIR, "ENOTDIR"}, {ELOOP, "ELOOP"},   {ENAMETOOLONG, "ENAMETOOLONG"},
    {EINVAL, "EINVAL"}, {EIO, "EIO"},         {ENOSPC, "ENOSPC"},
};

/* Throws an Error with a Node-style errno code ("ENOENT") and message. */
static napi_value throw_errno(napi_env env, int err, const char *syscall) {
  const char *code = "EUNKNOWN";
  for (size_t i = 0; i < sizeof ERRNO_NAMES / sizeof ERRNO_NAMES[0]; i++)
    if (ERRNO_NAMES[i].number == err) code = ERRNO_NAMES[i].name;
  char message[160];
  snprintf(message, sizeof message, "%s, %s: %s", code, syscall, strerror(err));
  napi_throw_error(env, code, message);
  return NULL;
}

/* Reads (seconds, nanoseconds) from two numbers; seconds fit a double exactly. */
static int read_time(napi_env env, napi_value secv, napi_value nsecv, struct timespec *ts) {
  int64_t sec, nsec;
  if (napi_get_value_int64(env, secv, &sec) != napi_ok) return 0;
  if (napi_get_value_int64(env, nsecv, &nsec) != napi_ok) return 0;
  if (nsec < 0 || nsec > 999999999) return 0;
  ts->tv_sec = (time_t)sec;
  ts->tv_nsec = (long)nsec;
  return 1;
}

/* utimens(path: Buffer, sec, nsec, noFollow: boolean): sets atime and mtime of a path. */
static napi_value utimens(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) {
    napi_throw_type_error(env, NULL, "utimens(path, sec, nsec, noFollow)");
    return NULL;
  }
  char *data;
  size_t length;
  if (napi_get_buffer_info(env, argv[0], (void **)&data, &length) != napi_ok || length == 0 ||
      data[length - 1] != 0 || memchr(data, 0, length - 1) != NULL) {
    napi_throw_type_error(env, NULL, "path must be a NUL-terminated Buffer");
    return NULL;
  }
  struct timespec times[2];
  if (!read_time(env, argv[1], argv[2], &times[0])) {
    napi_throw_range_error(env, NULL, "bad time");
    return NULL;
  }
  times[1] = times[0];
  bool no_follow = false;
  napi_get_value_bool(env, argv[3], &no_follow);
  if (utimensat(AT_FDCWD, data, times, no_follow ? AT_SYMLINK_NOFOLLOW : 0) != 0)
    return throw_errno(env, errno, "utimensat");
  return NULL;
}

/* futimens(fd, sec, nsec): sets atime and mtime of an open file. */
static napi_value futimens_js(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  struct timespec times[2];
  if (argc < 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      !read_time(env, argv[1], argv[2], &times[0])) {
    napi_throw_type_error(env, NULL, "futimens(fd, sec, nsec)");
    return NULL;
  }
  times[1] = times[0];
  if (futimens(fd, times) != 0) return throw_errno(env, errno, "futimens");
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "utimens", NAPI_AUTO_LENGTH, utimens, NULL, &fn);
  napi_set_named_property(env, exports, "utimens", fn);
  napi_create_function(env, "futimens", NAPI_AUTO_LENGTH, futimens_js, NULL, &fn);
  napi_set_named_property(env, exports, "futimens", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

// Shutdown watchdog: a thread outside the event loop that ends the process when a stop signal was
// received and the main thread stays blocked past the shutdown deadline (a handler stuck in
// synchronous code never lets the JavaScript shutdown timer run). Node delivers signals only to the
// main thread's loop, so a worker thread cannot see them: this module chains its own handler in
// front of libuv's for SIGTERM and SIGINT, which only counts the signal and wakes the thread.
#include <errno.h>
#include <node_api.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STALL_MS 1000       // main thread counts as blocked when it has not ticked for this long
#define HARD_CAP_MS 30000   // past the deadline, end the process even if the loop still ticks

static sem_t wake;
static atomic_int stop_signals;
static atomic_llong last_tick_ms;
static long long deadline_ms;
static int exit_code = 1;
static char line_prefix[512];
static struct sigaction previous_term, previous_int;
static int armed;

static long long monotonic_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void chained(int signal_number, siginfo_t *info, void *context) {
  int saved_errno = errno;
  atomic_fetch_add(&stop_signals, 1);
  sem_post(&wake);
  struct sigaction *previous = signal_number == SIGTERM ? &previous_term : &previous_int;
  if (previous->sa_flags & SA_SIGINFO) {
    if (previous->sa_sigaction) previous->sa_sigaction(signal_number, info, context);
  } else if (previous->sa_handler != SIG_IGN && previous->sa_handler != SIG_DFL) {
    previous->sa_handler(signal_number);
  }
  errno = saved_errno;
}

// One JSON line in the log's shape, on stderr: the main thread, which owns the log, is blocked.
static void report(long long blocked_ms, int signals) {
  char stamp[40];
  struct timespec now;
  struct tm utc;
  clock_gettime(CLOCK_REALTIME, &now);
  gmtime_r(&now.tv_sec, &utc);
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  char line[1024];
  int length = snprintf(line, sizeof line,
      "{\"level\":60,\"time\":\"%s.%03ldZ\",%s\"blocked_ms\":%lld,\"stop_signals\":%d,\"exit_code\":%d,"
      "\"msg\":\"shutdown watchdog: the event loop is blocked past the shutdown deadline; exiting so gearmand requeues the running jobs\"}\n",
      stamp, now.tv_nsec / 1000000, line_prefix, blocked_ms, signals, exit_code);
  if (length > 0) {
    ssize_t ignored = write(STDERR_FILENO, line, (size_t)length < sizeof line ? (size_t)length : sizeof line - 1);
    (void)ignored;
  }
}

static void *watch(void *unused) {
  (void)unused;
  while (atomic_load(&stop_signals) == 0) {
    if (sem_wait(&wake) != 0 && errno != EINTR) return NULL;
  }
  long long deadline = monotonic_ms() + deadline_ms;
  for (;;) {
    struct timespec pause = {0, 100 * 1000000L};
    nanosleep(&pause, NULL);
    long long now = monotonic_ms();
    long long blocked = now - atomic_load(&last_tick_ms);
    int signals = atomic_load(&stop_signals);
    // A second signal means "stop now", also for a blocked loop; otherwise wait for the deadline.
    int due = now >= deadline || signals >= 2;
    if ((due && blocked >= STALL_MS) || now >= deadline + HARD_CAP_MS) {
      report(blocked, signals);
      _exit(exit_code);
    }
  }
  return NULL;
}

static napi_value tick(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
  atomic_store(&last_tick_ms, monotonic_ms());
  return NULL;
}

// arm(deadlineMs, exitCode, linePrefix): chain the handlers (after the JavaScript ones are
// installed, so libuv's come next) and start the thread. Returns false when already armed.
static napi_value arm(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_value result;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) {
    napi_throw_type_error(env, NULL, "arm(deadlineMs, exitCode, linePrefix)");
    return NULL;
  }
  if (armed) {
    napi_get_boolean(env, false, &result);
    return result;
  }
  int64_t deadline;
  int32_t code;
  size_t copied;
  if (napi_get_value_int64(env, argv[0], &deadline) != napi_ok || napi_get_value_int32(env, argv[1], &code) != napi_ok ||
      napi_get_value_string_utf8(env, argv[2], line_prefix, sizeof line_prefix, &copied) != napi_ok) {
    napi_throw_type_error(env, NULL, "arm(deadlineMs: number, exitCode: number, linePrefix: string)");
    return NULL;
  }
  deadline_ms = deadline;
  exit_code = code;
  atomic_store(&last_tick_ms, monotonic_ms());
  if (sem_init(&wake, 0, 0) != 0) {
    napi_throw_error(env, NULL, strerror(errno));
    return NULL;
  }
  pthread_t thread;
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
  // The thread must never take a signal itself: block them all while it starts.
  sigset_t all, before;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &before);
  int failed = pthread_create(&thread, &attributes, watch, NULL);
  pthread_sigmask(SIG_SETMASK, &before, NULL);
  pthread_attr_destroy(&attributes);
  if (failed) {
    napi_throw_error(env, NULL, strerror(failed));
    return NULL;
  }
  struct sigaction ours;
  memset(&ours, 0, sizeof ours);
  ours.sa_sigaction = chained;
  ours.sa_flags = SA_SIGINFO | SA_RESTART;
  sigfillset(&ours.sa_mask);
  sigaction(SIGTERM, &ours, &previous_term);
  sigaction(SIGINT, &ours, &previous_int);
  armed = 1;
  napi_get_boolean(env, true, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"arm", NULL, arm, NULL, NULL, NULL, napi_default, NULL},
      {"tick", NULL, tick, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 2, properties);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

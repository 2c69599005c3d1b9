/*
 * Gearman load generator for the atom-worker benchmarks, built on libgearman's own client.
 *
 *   cc -O2 -pthread bench/c/loadgen.c -lgearman -o bench/out/loadgen
 *   loadgen -p PORT -f FUNCTION [-H host] [-t threads] [-w window] [-n jobs] [-d payload]
 *           [-b] [-g gap_ms] [-x] [-q]
 *
 * Each thread owns one gearman_client (one connection) in non-blocking mode and keeps `window`
 * tasks in flight: a sliding window, topped up as completions arrive (gearman_client_add_task +
 * gearman_client_run_tasks + gearman_client_wait). Every task has its own unique key, so gearmand
 * never coalesces. Foreground: latency is submit (task added) -> WORK_COMPLETE received.
 * -b: background jobs (SUBMIT_JOB_BG); a task ends at JOB_CREATED, so this times the enqueueing.
 * -g: wait this long after each completion before the next submit (with -t 1 -w 1: the worker is
 *     asleep again, PRE_SLEEP sent, when the job arrives: pick-up latency from idle).
 * -x: the result is the worker's CLOCK_MONOTONIC in ns at handler start (a stamp job); also report
 *     submit -> handler start. Node's process.hrtime uses the same clock.
 * Prints one JSON object on stdout.
 */
#define _GNU_SOURCE
#include <libgearman-1.0/gearman.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *host = "127.0.0.1";
static in_port_t port = 4730;
static const char *function = "echo";
static int threads = 1, window = 1, background = 0, stamp = 0, quiet = 0;
static long total = 10000, gap_ms = 0;
static const char *payload = "{\"echo\":\"abcde\"}";

struct thread_state;
struct job {
  struct thread_state *thread;
  long index;
};
struct thread_state {
  pthread_t tid;
  int id;
  long jobs, submitted, done, failed;
  int in_flight;
  uint64_t *submit_ns;
  double *latency_ms, *start_ms;
  long starts;
  struct job *slots;
  uint64_t last_done_ns;
  const char *error;
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void finished(gearman_task_st *task, int ok) {
  struct job *job = gearman_task_context(task);
  struct thread_state *t = job->thread;
  uint64_t now = now_ns();
  t->in_flight--;
  t->last_done_ns = now;
  if (!ok) {
    t->failed++;
    return;
  }
  t->latency_ms[t->done++] = (double)(now - t->submit_ns[job->index]) / 1e6;
  if (stamp && !background) {
    size_t size = gearman_task_data_size(task);
    char buf[40];
    if (size > 0 && size < sizeof buf) {
      memcpy(buf, gearman_task_data(task), size);
      buf[size] = 0;
      const char *digits = buf[0] == '"' ? buf + 1 : buf;
      uint64_t started = strtoull(digits, NULL, 10);
      if (started > 0) t->start_ms[t->starts++] = ((double)started - (double)t->submit_ns[job->index]) / 1e6;
    }
  }
}

static gearman_return_t on_complete(gearman_task_st *task) {
  finished(task, 1);
  return GEARMAN_SUCCESS;
}
static gearman_return_t on_created(gearman_task_st *task) {
  if (background) finished(task, 1);
  return GEARMAN_SUCCESS;
}
static gearman_return_t on_fail(gearman_task_st *task) {
  finished(task, 0);
  return GEARMAN_SUCCESS;
}

static void *run_thread(void *arg) {
  struct thread_state *t = arg;
  gearman_client_st *client = gearman_client_create(NULL);
  if (!client) {
    t->error = "gearman_client_create failed";
    return NULL;
  }
  if (gearman_client_add_server(client, host, port) != GEARMAN_SUCCESS) {
    t->error = gearman_client_error(client);
    return NULL;
  }
  gearman_client_add_options(client, GEARMAN_CLIENT_NON_BLOCKING | GEARMAN_CLIENT_FREE_TASKS);
  gearman_client_set_timeout(client, 60000);
  gearman_client_set_complete_fn(client, on_complete);
  gearman_client_set_created_fn(client, on_created);
  gearman_client_set_fail_fn(client, on_fail);
  gearman_client_set_exception_fn(client, on_fail);
  size_t payload_size = strlen(payload);
  char unique[64];
  while (t->done + t->failed < t->jobs) {
    while (t->in_flight < window && t->submitted < t->jobs) {
      if (gap_ms > 0 && t->last_done_ns != 0) {
        uint64_t due = t->last_done_ns + (uint64_t)gap_ms * 1000000u, now = now_ns();
        if (now < due) {
          struct timespec ts = {(time_t)((due - now) / 1000000000u), (long)((due - now) % 1000000000u)};
          nanosleep(&ts, NULL);
        }
      }
      long index = t->submitted++;
      struct job *job = &t->slots[index];
      job->thread = t;
      job->index = index;
      snprintf(unique, sizeof unique, "lg-%d-%d-%ld-%ld", (int)getpid(), t->id, index, (long)(now_ns() % 1000000007u));
      gearman_return_t ret;
      t->submit_ns[index] = now_ns();
      if (background) {
        gearman_client_add_task_background(client, NULL, job, function, unique, payload, payload_size, &ret);
      } else {
        gearman_client_add_task(client, NULL, job, function, unique, payload, payload_size, &ret);
      }
      if (ret != GEARMAN_SUCCESS) {
        t->error = gearman_client_error(client);
        return NULL;
      }
      t->in_flight++;
    }
    gearman_return_t ret = gearman_client_run_tasks(client);
    if (ret == GEARMAN_IO_WAIT) {
      ret = gearman_client_wait(client);
      if (ret != GEARMAN_SUCCESS) {
        t->error = gearman_client_error(client);
        return NULL;
      }
    } else if (ret != GEARMAN_SUCCESS) {
      t->error = gearman_client_error(client);
      return NULL;
    }
  }
  gearman_client_free(client);
  return NULL;
}

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
static double pct(double *v, long n, double p) {
  if (n == 0) return 0;
  long i = (long)(p * (double)(n - 1) + 0.5);
  return v[i];
}

int main(int argc, char **argv) {
  int opt;
  while ((opt = getopt(argc, argv, "H:p:f:t:w:n:d:bg:xq")) != -1) {
    switch (opt) {
      case 'H': host = optarg; break;
      case 'p': port = (in_port_t)atoi(optarg); break;
      case 'f': function = optarg; break;
      case 't': threads = atoi(optarg); break;
      case 'w': window = atoi(optarg); break;
      case 'n': total = atol(optarg); break;
      case 'd': payload = optarg; break;
      case 'b': background = 1; break;
      case 'g': gap_ms = atol(optarg); break;
      case 'x': stamp = 1; break;
      case 'q': quiet = 1; break;
      default:
        fprintf(stderr, "usage: %s -p PORT -f FUNCTION [-H host] [-t threads] [-w window] [-n jobs] [-d payload] [-b] [-g gap_ms] [-x]\n", argv[0]);
        return 2;
    }
  }
  if (threads < 1 || window < 1 || total < threads) {
    fprintf(stderr, "loadgen: need threads >= 1, window >= 1, jobs >= threads\n");
    return 2;
  }
  struct thread_state *states = calloc((size_t)threads, sizeof *states);
  for (int i = 0; i < threads; i++) {
    struct thread_state *t = &states[i];
    t->id = i;
    t->jobs = total / threads + (i < total % threads ? 1 : 0);
    t->submit_ns = calloc((size_t)t->jobs, sizeof *t->submit_ns);
    t->latency_ms = calloc((size_t)t->jobs, sizeof *t->latency_ms);
    t->start_ms = calloc((size_t)t->jobs, sizeof *t->start_ms);
    t->slots = calloc((size_t)t->jobs, sizeof *t->slots);
  }
  uint64_t t0 = now_ns();
  for (int i = 0; i < threads; i++) pthread_create(&states[i].tid, NULL, run_thread, &states[i]);
  for (int i = 0; i < threads; i++) pthread_join(states[i].tid, NULL);
  double seconds = (double)(now_ns() - t0) / 1e9;

  long done = 0, failed = 0, starts = 0;
  const char *error = NULL;
  for (int i = 0; i < threads; i++) {
    done += states[i].done;
    failed += states[i].failed;
    starts += states[i].starts;
    if (states[i].error && !error) error = states[i].error;
  }
  double *all = malloc(sizeof(double) * (size_t)(done + 1)), *st = malloc(sizeof(double) * (size_t)(starts + 1));
  long k = 0, s = 0;
  for (int i = 0; i < threads; i++) {
    memcpy(all + k, states[i].latency_ms, sizeof(double) * (size_t)states[i].done);
    k += states[i].done;
    memcpy(st + s, states[i].start_ms, sizeof(double) * (size_t)states[i].starts);
    s += states[i].starts;
  }
  qsort(all, (size_t)done, sizeof(double), compare);
  qsort(st, (size_t)starts, sizeof(double), compare);
  printf("{\"jobs\":%ld,\"failed\":%ld,\"seconds\":%.4f,\"jobs_per_s\":%.1f,\"p50_ms\":%.4f,\"p90_ms\":%.4f,\"p99_ms\":%.4f,\"max_ms\":%.4f",
         done, failed, seconds, (double)done / seconds, pct(all, done, 0.5), pct(all, done, 0.9), pct(all, done, 0.99), done ? all[done - 1] : 0.0);
  if (stamp) printf(",\"start_p50_ms\":%.4f,\"start_p99_ms\":%.4f,\"start_samples\":%ld", pct(st, starts, 0.5), pct(st, starts, 0.99), starts);
  if (error) {
    printf(",\"error\":\"");
    for (const char *c = error; *c; c++) putchar(*c == '"' || *c == '\\' ? '\'' : *c);
    printf("\"");
  }
  printf("}\n");
  (void)quiet;
  return error || done + failed < total ? 1 : 0;
}

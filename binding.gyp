{
  "targets": [
    {
      "target_name": "watchdog",
      "sources": ["native/watchdog.c"],
      "cflags": ["-Wall", "-Wextra", "-std=c11", "-D_POSIX_C_SOURCE=200809L"],
      "libraries": ["-lpthread"]
    }
  ]
}

{
  "targets": [
    {
      "target_name": "fs_times",
      "sources": ["native/fs_times.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}

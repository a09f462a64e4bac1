{
  "targets": [
    {
      "target_name": "afpacket",
      "sources": ["binding.c", "ring.c", "txq.c"],
      "defines": ["_GNU_SOURCE"],
      "libraries": ["-lm", "-lpthread"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    }
  ]
}

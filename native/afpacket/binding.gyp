{
  "targets": [
    {
      "target_name": "afpacket",
      "sources": ["binding.c", "ring.c"],
      "defines": ["_GNU_SOURCE"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    }
  ]
}

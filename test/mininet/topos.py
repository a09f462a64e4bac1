"""Mininet's tree and linear topologies with switch names and dpids of a test's own (see
driver.py for why)."""

from mininet.topo import Topo


class PrefixedTopo(Topo):
    """Mininet's tree and linear topologies, with switch names and dpids of our own."""

    def build(self, kind, prefix, dpidBase, depth=2, fanout=2, k=4):
        self.prefix, self.dpidBase = prefix, dpidBase
        self.nSwitches = self.nHosts = 0
        if kind == 'tree':
            self.tree(depth, fanout)
        else:
            prev = None
            for _ in range(k):
                s = self.switch()
                self.addLink(self.host(), s)
                if prev:
                    self.addLink(prev, s)
                prev = s

    def switch(self):
        self.nSwitches += 1
        return self.addSwitch('%ss%d' % (self.prefix, self.nSwitches),
                              dpid='%x' % (self.dpidBase + self.nSwitches))

    def host(self):
        self.nHosts += 1
        return self.addHost('h%d' % self.nHosts)

    def tree(self, depth, fanout):
        if depth == 0:
            return self.host()
        s = self.switch()
        for _ in range(fanout):
            self.addLink(s, self.tree(depth - 1, fanout))
        return s

"""Runs one Mininet scenario with ofswitch (contrib/mininet/ofswitch.py) through Mininet's Python
API and prints one line `RESULT {json}`; test/mininet/mininet.integration.test.ts runs it.

Isolation from other runs on the same machine: every switch name starts with --prefix (Mininet
names the switch's interfaces NAME-ethN in the root namespace and deletes such names before
creating them), dpids are given explicitly (Mininet would derive them from the first number in
the name, the prefix's), the controller listens on --controller-port on 127.0.0.1 with its own
control socket, and every file goes to --dir. Hosts are in Mininet's unnamed namespaces.
Nothing here calls Mininet's cleanup (mn -c), which kills processes by name.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', '..', 'contrib', 'mininet'))

from mininet.log import setLogLevel  # noqa: E402
from mininet.net import Mininet  # noqa: E402
from mininet.node import OVSController  # noqa: E402

from ofswitch import OFSwitch  # noqa: E402
from topos import PrefixedTopo  # noqa: E402


class TestController(OVSController):
    """ovs-testcontroller (Mininet's OVSController) on 127.0.0.1:PORT with its own unixctl
    socket, started and stopped by PID instead of as a job of Mininet's shell."""

    def __init__(self, name, ctlDir, **kwargs):
        self.ctlDir = ctlDir
        self.proc = None
        OVSController.__init__(self, name, **kwargs)

    def start(self):
        log = open(os.path.join(self.ctlDir, '%s.log' % self.name), 'w')
        self.proc = subprocess.Popen(
            [self.command, '--unixctl=%s' % os.path.join(self.ctlDir, '%s.ctl' % self.name),
             'ptcp:%d:127.0.0.1' % self.port],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        with open(os.path.join(self.ctlDir, '%s.pid' % self.name), 'w') as f:
            f.write('%d\n' % self.proc.pid)

    def stop(self, *args, **kwargs):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        try:
            os.unlink(os.path.join(self.ctlDir, '%s.pid' % self.name))
        except FileNotFoundError:
            pass
        self.terminate()


def listening(host, port, seconds=10):
    """Waits (at most `seconds`) until something in `host` listens on TCP `port`."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if host.cmd('ss -Hltn sport = :%d' % port).strip():
            return True
        time.sleep(0.05)
    return False


def iperf3(client, server, seconds):
    """iperf3 from client to server (Mininet's iperf() expects iperf 2); returns the JSON."""
    srv = server.popen(['iperf3', '-s', '-1', '-B', server.IP(), '-p', '5201'],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        if not listening(server, 5201):
            return {'error': 'iperf3 -s did not listen on %s:5201 within 10 s' % server.IP()}
        cli = client.popen(['iperf3', '-c', server.IP(), '-p', '5201', '-t', str(seconds), '-J',
                            '--connect-timeout', '5000'],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = cli.communicate(timeout=seconds + 20)
        except subprocess.TimeoutExpired:
            cli.kill()
            out, err = cli.communicate()
            return {'error': 'iperf3 client did not finish in %d s' % (seconds + 20)}
        try:
            return json.loads(out.decode())
        except ValueError:
            return {'error': 'iperf3 printed no JSON: %s %s' % (out.decode()[-500:],
                                                                 err.decode()[-500:])}
    finally:
        if srv.poll() is None:
            srv.terminate()
        try:
            srv.wait(timeout=5)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()


def flap(net, first, last):
    """The link between the first two switches (on the path between the farthest hosts) goes
    down: no ping gets through; back up: pings pass again, and pingAll loses nothing."""
    s1, s2 = net.switches[0], net.switches[1]
    out = {}
    net.configLinkStatus(s1.name, s2.name, 'down')
    time.sleep(1)  # the switches poll link state every 300 ms
    out['lossWhileDown'] = net.ping([first, last], timeout='1')
    net.configLinkStatus(s1.name, s2.name, 'up')
    t = time.time()
    while net.ping([first, last], timeout='1') > 0 and time.time() - t < 15:
        pass
    out['secondsToRecover'] = round(time.time() - t, 2)
    out['plossAfter'] = net.pingAll(timeout='2')
    return out


def summary(report):
    """What the test checks of an iperf3 JSON report."""
    if 'error' in report:
        return {'error': report['error']}
    end = report.get('end', {})
    received = end.get('sum_received', {})
    return {'seconds': received.get('seconds'), 'bytes': received.get('bytes'),
            'bitsPerSecond': received.get('bits_per_second'),
            'retransmits': end.get('sum_sent', {}).get('retransmits')}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--topo', choices=('tree', 'linear'), required=True)
    ap.add_argument('--mode', choices=('controller', 'standalone'), required=True)
    ap.add_argument('--prefix', required=True)
    ap.add_argument('--dpid-base', type=int, required=True)
    ap.add_argument('--controller-port', type=int, default=0)
    ap.add_argument('--dir', required=True)
    ap.add_argument('--iperf-seconds', type=int, default=3)
    ap.add_argument('--connect-timeout', type=float, default=30)
    ap.add_argument('--flap', action='store_true',
                    help='then take the link between the first two switches down and up')
    ap.add_argument('--opts', default='', help="extra ofswitch flags (the class's opts)")
    ap.add_argument('--hold', action='store_true',
                    help='after the start, print the switch PIDs and wait to be killed')
    a = ap.parse_args()
    # The test stops us with SIGTERM on its timeout: unwind through net.stop().
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))
    setLogLevel('warning')
    os.makedirs(a.dir, exist_ok=True)

    failMode = 'secure' if a.mode == 'controller' else 'standalone'

    def switch(name, **params):
        return OFSwitch(name, failMode=failMode, logDir=a.dir, opts=a.opts, **params)

    controller = None
    if a.mode == 'controller':
        def controller(name, **params):
            return TestController('%sc0' % a.prefix, ctlDir=a.dir, port=a.controller_port)

    topo = PrefixedTopo(kind=a.topo, prefix=a.prefix, dpidBase=a.dpid_base)
    result = {}
    net = Mininet(topo=topo, switch=switch, controller=controller, build=False,
                  waitConnected=False)
    started = time.time()
    try:
        net.build()
        try:
            net.start()
        except Exception as e:  # the switch class's report of a switch that did not start
            result['error'] = str(e)
            return
        result['startSeconds'] = round(time.time() - started, 2)
        if a.hold:
            print('STARTED ' + json.dumps([s.proc.pid for s in net.switches]), flush=True)
            time.sleep(600)
        if a.mode == 'controller':
            result['connected'] = net.waitConnected(timeout=a.connect_timeout)
        result['switches'] = [s.name for s in net.switches]
        result['dpids'] = [s.dpid for s in net.switches]
        result['ploss'] = net.pingAll(timeout='2')
        first, last = net.hosts[0], net.hosts[-1]
        result['iperfPair'] = [first.name, last.name]
        result['iperf'] = summary(iperf3(first, last, a.iperf_seconds))
        if a.flap:
            result['flap'] = flap(net, first, last)
        result['status'] = {s.name: s.status() for s in net.switches}
    finally:
        net.stop()
        result['stopped'] = all(s.proc is None for s in net.switches)
        print('RESULT ' + json.dumps(result), flush=True)


if __name__ == '__main__':
    main()

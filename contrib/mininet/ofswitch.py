"""ofswitch as a Mininet switch.

    sudo mn --custom contrib/mininet/ofswitch.py --switch ofswitch --test pingall

Options go after the class name, as for Mininet's own switches:

    --switch ofswitch,failMode=standalone --controller none
    --switch ofswitch,backend=pcap,logLevel=debug
    --switch ofswitch,listen=ptcp:6700,opts=--metrics=9100

failMode   secure (default, as Mininet's OVSSwitch) | standalone (MAC learning
           while no controller is connected; with --controller none, always)
backend    auto (default) | afpacket | pcap: ofswitch's --port-backend
listen     an extra OpenFlow listener, e.g. ptcp:6700 (Mininet's --listenport
           already gives each switch one on 127.0.0.1, 6654 upwards, which
           `dpctl` in the Mininet CLI uses)
opts       extra ofswitch flags, split like a shell would (no commas: mn
           splits its arguments on them)
logDir     where the per-switch files go (default /tmp/ofswitch-mininet, or
           $OFSWITCH_MININET_DIR): NAME.log (the switch's log), NAME.pid,
           NAME.ctl (its control socket: `ofswitch-ctl -t PATH status`)
logLevel   trace | debug | info (default) | warn | error
maxBackoff longest wait between reconnection attempts, seconds (default 1, as
           Mininet's OVSSwitch reconnectms)
command    how to run ofswitch (default: node on this checkout's
           dist/src/cli.js, else `ofswitch` on PATH; $OFSWITCH overrides)

The switch gets the datapath id Mininet assigns (from the name, s3 -> 3, or
dpid=...), one OpenFlow port per Mininet link with Mininet's port number, and a
connection to every Mininet controller. It runs as its own process, is stopped
by its PID (SIGTERM, then SIGKILL after 5 s) and also gets SIGTERM if the
Mininet process dies first (so `mn -c`, which does not know ofswitch, is never
needed for it).
"""

import ctypes
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import time

from mininet.log import error, info
from mininet.node import Switch

# mn execs --custom files without __file__; the code object still knows its file.
_HERE = os.path.dirname(os.path.abspath((lambda: 0).__code__.co_filename))
_REPO = os.path.normpath(os.path.join(_HERE, '..', '..'))

FAIL_MODES = ('secure', 'standalone')
BACKENDS = ('auto', 'afpacket', 'pcap')
LOG_LEVELS = ('trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent')
STOP_TIMEOUT = 5.0


def _die_with_parent():
    """In the child before exec: SIGTERM when the Mininet process exits."""
    PR_SET_PDEATHSIG = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _program(script, env_name, path_name):
    """The command that runs one of ofswitch's programs, as a list."""
    override = os.environ.get(env_name)
    if override:
        return shlex.split(override)
    built = os.path.join(_REPO, 'dist', 'src', script)
    node = shutil.which('node')
    if os.path.isfile(built) and node:
        return [node, built]
    installed = shutil.which(path_name)
    if installed:
        return [installed]
    raise Exception(
        '%s not found: build this checkout (bash scripts/setup.sh, or npx tsc -p . in %s), '
        'put %s on PATH, or set $%s' % (path_name, _REPO, path_name, env_name))


class OFSwitch(Switch):
    """An ofswitch process (a software OpenFlow 1.0 switch in Node.js) per Mininet switch."""

    dpidLen = 16

    def __init__(self, name, failMode='secure', backend='auto', listen=None,
                 logDir=None, logLevel='info', maxBackoff=1, command=None,
                 startTimeout=30, **params):
        Switch.__init__(self, name, **params)
        if failMode not in FAIL_MODES:
            raise Exception('%s: failMode must be one of %s, not %r'
                            % (name, ', '.join(FAIL_MODES), failMode))
        if backend not in BACKENDS:
            raise Exception('%s: backend must be one of %s, not %r'
                            % (name, ', '.join(BACKENDS), backend))
        if logLevel not in LOG_LEVELS:
            raise Exception('%s: logLevel must be one of %s, not %r'
                            % (name, ', '.join(LOG_LEVELS), logLevel))
        self.failMode = failMode
        self.backend = backend
        self.listen = listen
        self.logLevel = logLevel
        self.maxBackoff = maxBackoff
        self.startTimeout = float(startTimeout)
        self.logDir = (logDir or os.environ.get('OFSWITCH_MININET_DIR')
                       or '/tmp/ofswitch-mininet')
        self.command = shlex.split(command) if command else None
        self.proc = None

    @classmethod
    def setup(cls):
        # Mininet's default controller is ovs-testcontroller, which cannot start without
        # /var/run/openvswitch (made by the openvswitch-switch service, absent where that
        # service never ran). Make it, as that service would.
        if shutil.which('ovs-testcontroller') and not os.path.isdir('/var/run/openvswitch'):
            info('*** ofswitch: creating /var/run/openvswitch for ovs-testcontroller\n')
            os.makedirs('/var/run/openvswitch', mode=0o755, exist_ok=True)

    # ---- files ----

    def path(self, ext):
        """This switch's file in logDir: log, pid or ctl."""
        return os.path.join(self.logDir, '%s.%s' % (self.name, ext))

    @property
    def logFile(self):
        return self.path('log')

    @property
    def ctlSocket(self):
        return self.path('ctl')

    # ---- start and stop ----

    def dataIntfs(self):
        """(interface, OpenFlow port number) of every data port, in port order."""
        return sorted(((intf, self.ports[intf]) for intf in self.intfList()
                       if self.ports.get(intf) and not intf.IP()),
                      key=lambda p: p[1])

    def commandLine(self, controllers):
        args = list(self.command or _program('cli.js', 'OFSWITCH', 'ofswitch'))
        for intf, port in self.dataIntfs():
            args += ['-i', '%s=%d' % (intf.name, port)]
        for c in controllers:
            args += ['-c', '%s:%s:%d' % (c.protocol, c.IP(), c.port)]
        if self.listenPort:
            args += ['-l', 'ptcp:%d:127.0.0.1' % self.listenPort]
        if self.listen:
            args += ['-l', self.listen]
        args += ['--dpid', self.dpid, '--fail-mode', self.failMode,
                 '--port-backend', self.backend, '--log-level', self.logLevel,
                 '--max-backoff', str(self.maxBackoff),
                 '--ctl-socket', self.ctlSocket]
        args += shlex.split(self.opts or '')
        return args

    def start(self, controllers):
        """Starts ofswitch in the background; batchStartup (called by Mininet.start) waits for
        it to run. Log: logDir/NAME.log."""
        if self.proc is not None and self.proc.poll() is None:
            error('*** %s: ofswitch is already running (pid %d)\n' % (self.name, self.proc.pid))
            return
        os.makedirs(self.logDir, mode=0o755, exist_ok=True)
        args = self.commandLine(controllers)
        with open(self.logFile, 'w') as log:
            log.write('# %s\n' % ' '.join(shlex.quote(a) for a in args))
            log.flush()
            # mnexec -da: setsid, and the switch's namespaces (the root one unless
            # --innamespace); the PID is ofswitch's own, mnexec execs it.
            self.proc = self.popen(args, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        with open(self.path('pid'), 'w') as f:
            f.write('%d\n' % self.proc.pid)

    def waitStarted(self, deadline=None):
        """Waits until the switch answers on its control socket; raises with the log's tail if
        it exits or does not answer in startTimeout seconds."""
        deadline = deadline or time.time() + self.startTimeout
        while True:
            if self.proc is None or self.proc.poll() is not None:
                raise Exception('%s: ofswitch exited (status %s); its log, %s:\n%s' % (
                    self.name, None if self.proc is None else self.proc.returncode,
                    self.logFile, self.logTail()))
            if self.status(timeout=1) is not None:
                return
            if time.time() > deadline:
                raise Exception('%s: ofswitch did not start within %.0f s; its log, %s:\n%s' % (
                    self.name, self.startTimeout, self.logFile, self.logTail()))
            time.sleep(0.1)

    @classmethod
    def batchStartup(cls, switches):
        """Mininet.start calls start() on each switch, then this: they boot in parallel."""
        deadline = time.time() + max([s.startTimeout for s in switches] or [0])
        for s in switches:
            s.waitStarted(deadline)
        return switches

    def stopProcess(self, sig=signal.SIGTERM):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def waitStopped(self):
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            error('*** %s: ofswitch (pid %d) ignored SIGTERM for %.0f s: SIGKILL\n'
                  % (self.name, self.proc.pid, STOP_TIMEOUT))
            self.stopProcess(signal.SIGKILL)
            self.proc.wait()
        self.proc = None
        for ext in ('pid',):
            try:
                os.unlink(self.path(ext))
            except FileNotFoundError:
                pass

    def stop(self, deleteIntfs=True):
        """Stops ofswitch by its PID (waits for it), then as any Mininet switch."""
        self.stopProcess()
        self.waitStopped()
        super(OFSwitch, self).stop(deleteIntfs)

    @classmethod
    def batchShutdown(cls, switches):
        """Signals every switch first, then waits: they shut down in parallel."""
        for s in switches:
            s.stopProcess()
        for s in switches:
            s.waitStopped()
        return switches

    # ---- questions ----

    def logTail(self, lines=20):
        try:
            with open(self.logFile) as f:
                return ''.join(f.readlines()[-lines:])
        except OSError as e:
            return '(cannot read it: %s)' % e

    def control(self, command, *params, timeout=5):
        """One request on the control socket; returns the result ({text, data}) or raises."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(self.ctlSocket)
            s.sendall((json.dumps({'id': 1, 'method': command,
                                   'params': [str(p) for p in params]}) + '\n').encode())
            buf = b''
            while not buf.endswith(b'\n'):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        reply = json.loads(buf.decode())
        if reply.get('error'):
            raise Exception('%s: %s: %s' % (self.name, command, reply['error']))
        return reply['result']

    def status(self, timeout=5):
        """The switch's status (ofswitch-ctl status --json), or None when it does not answer."""
        try:
            return self.control('status', timeout=timeout)['data']
        except (OSError, ValueError):
            return None

    def connected(self):
        """True once a session with a controller is up (in fail mode standalone: always, as
        OVSSwitch says, since the switch forwards without one)."""
        if self.failMode == 'standalone':
            return True
        st = self.status(timeout=1)
        return st is not None and any(
            c['kind'] == 'active' and c['sessions'] > 0 for c in st['controllers'])

    def ctl(self, *args):
        """Runs ofswitch-ctl against this switch (e.g. sw.ctl('status'))."""
        cmd = _program('ctl.js', 'OFSWITCH_CTL', 'ofswitch-ctl') + ['-t', self.ctlSocket]
        return self.cmd(' '.join(shlex.quote(a) for a in cmd + [str(a) for a in args]))

    def dpctl(self, *args):
        """ovs-ofctl against the switch's listener (Mininet's `dpctl` CLI command)."""
        if not self.listenPort:
            return "dpctl needs the switch to listen: start mn with --listenport\n"
        return self.cmd('ovs-ofctl', '-O', 'OpenFlow10', args[0],
                        'tcp:127.0.0.1:%d' % self.listenPort, *args[1:])


switches = {'ofswitch': OFSwitch}

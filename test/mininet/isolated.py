"""A second --custom file for running `mn` itself in a test, beside other tests on the machine:

    mn --custom contrib/mininet/ofswitch.py,test/mininet/isolated.py --topo prefixed,tree ...

`prefixed` is Mininet's tree or linear topology with switch names starting with
$OFSWITCH_TEST_PREFIX and dpids from $OFSWITCH_TEST_DPID_BASE (see driver.py). And `cleanup`
replaces mn's: on an exception mn runs Mininet's cleanup (mn -c), which kills processes by name
and deletes every NAME-ethN interface on the machine, other tests' too.
"""

import os
import sys

# mn execs --custom files without __file__; the code object still knows its file.
sys.path.insert(0, os.path.dirname(os.path.abspath((lambda: 0).__code__.co_filename)))

from topos import PrefixedTopo  # noqa: E402


def prefixed(kind='tree'):
    return PrefixedTopo(kind=kind, prefix=os.environ['OFSWITCH_TEST_PREFIX'],
                        dpidBase=int(os.environ['OFSWITCH_TEST_DPID_BASE']))


def cleanup():
    print('*** isolated.py: mn wanted its cleanup (mn -c); not run in tests', flush=True)


topos = {'prefixed': prefixed}

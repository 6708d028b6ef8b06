"""The example plugin's own test suite: one line checks its generator against imggen's contract, as any plugin
package can (``imggen.testing``)."""

from imggen.testing import contract_test

test_generator_contract = contract_test("example-gen")

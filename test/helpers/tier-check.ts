// Loaded beside other test files by test/tiers.test.ts in a child process run with
// NORMKIT_SIMD: checks that the tier it asked for (NORMKIT_EXPECT_SIMD) is the one that ran.
import { expect } from 'chai';
import * as normkit from 'normkit';

describe('tier of this run', () => {
  it('is the one NORMKIT_EXPECT_SIMD names', () => {
    expect(normkit.backend).to.equal('native');
    expect(normkit.native!.simdPath()).to.equal(process.env.NORMKIT_EXPECT_SIMD);
  });
});

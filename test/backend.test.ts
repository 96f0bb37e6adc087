import { expect } from 'chai';
import * as normkit from 'normkit';

describe('backend', () => {
  it('loads the native addon unless the reference is forced', function () {
    if (process.env.NORMKIT_BACKEND === 'js') this.skip();
    expect(normkit.backend).to.equal('native');
    expect(normkit.native).to.not.equal(null);
    expect(['avx512', 'avx2', 'baseline']).to.include(normkit.native!.simdPath());
  });
});

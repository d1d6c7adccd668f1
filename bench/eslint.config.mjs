import { testConfig } from '../eslint.code.mjs';

export default testConfig();

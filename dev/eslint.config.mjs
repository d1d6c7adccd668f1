import { sourceConfig } from '../eslint.code.mjs';

export default sourceConfig();

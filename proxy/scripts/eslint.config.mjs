import { scriptConfig } from '../../eslint.code.mjs';

export default scriptConfig();

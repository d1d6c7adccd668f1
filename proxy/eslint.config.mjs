import { proxyLayers, sourceConfig } from '../eslint.code.mjs';

export default sourceConfig(proxyLayers(import.meta.dirname));

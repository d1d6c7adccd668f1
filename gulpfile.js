/**
 * Copies what n8n loads next to the compiled node and credential files in dist/: icons
 * (`icon: 'file:…'` references) and codex files (`<Node>.node.json`, read beside `<Node>.node.js`).
 */
const { src, dest } = require('gulp');

function buildIcons() {
  return src(['nodes/**/*.{png,svg,json}', 'credentials/**/*.{png,svg}'], { base: '.', allowEmpty: true, encoding: false }).pipe(dest('dist'));
}

exports['build:icons'] = buildIcons;

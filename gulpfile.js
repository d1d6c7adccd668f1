/**
 * Copies node and credential icons next to the compiled files in dist/, where n8n's
 * `icon: 'file:…'` references look for them.
 */
const { src, dest } = require('gulp');

function buildIcons() {
  return src(['nodes/**/*.{png,svg}', 'credentials/**/*.{png,svg}'], { base: '.', allowEmpty: true, encoding: false }).pipe(
    dest('dist'),
  );
}

exports['build:icons'] = buildIcons;

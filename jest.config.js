// One jest run: unit specs beside the code, e2e specs under test/e2e (SQLite always, MariaDB/MySQL
// too when TEST_MYSQL_URL is set). Coverage is collected across both and enforced.
/** @type {import('jest').Config} */
module.exports = {
  rootDir: '.',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/test'],
  moduleFileExtensions: ['js', 'json', 'ts'],
  testRegex: '.*\\.(spec|e2e-spec)\\.ts$',
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': [
      'ts-jest',
      {
        tsconfig: 'tsconfig.json',
        // The Swagger CLI plugin, as `nest build` applies it, so /docs-json in tests matches production.
        astTransformers: { before: ['<rootDir>/test/setup/swagger-transformer.js'] },
      },
    ],
  },
  moduleNameMapper: {
    '^@app/(config|observability)/tracing$': '<rootDir>/libs/$1/src/tracing',
    '^@app/(config|database|ingest|common|observability)$': '<rootDir>/libs/$1/src',
  },
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  collectCoverageFrom: [
    'apps/**/*.ts',
    'libs/**/*.ts',
    'migrations/**/*.ts',
    '!**/*.spec.ts',
    '!**/*.e2e-spec.ts',
    '!**/main.ts',
    '!**/index.ts',
    // The explorer runs in the browser: test/browser drives it in chromium.
    '!apps/web/**',
  ],
  coverageReporters: ['text-summary', 'json-summary', 'lcov'],
  coverageThreshold: { global: { lines: 80 } },
  maxWorkers: 2,
  testTimeout: 30000,
};

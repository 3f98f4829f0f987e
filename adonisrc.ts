import { defineConfig } from '@adonisjs/core/app'

/**
 * The repository root is also a small demo app that loads the package's own
 * provider, middleware and commands exactly as a user's app would (through
 * the package name, resolved to the TypeScript sources by the
 * `tracking-source` export condition).
 */
export default defineConfig({
  experimental: {},

  commands: [
    () => import('@adonisjs/core/commands'),
    () => import('@adonisjs/lucid/commands'),
    () => import('adonis-tracking/commands'),
  ],

  providers: [
    () => import('@adonisjs/core/providers/app_provider'),
    () => import('@adonisjs/core/providers/hash_provider'),
    {
      file: () => import('@adonisjs/core/providers/repl_provider'),
      environment: ['repl', 'test'],
    },
    () => import('@adonisjs/core/providers/edge_provider'),
    () => import('@adonisjs/lucid/database_provider'),
    () => import('@adonisjs/redis/redis_provider'),
    () => import('@adonisjs/session/session_provider'),
    () => import('@adonisjs/auth/auth_provider'),
    () => import('@adonisjs/static/static_provider'),
    () => import('adonis-tracking/tracking_provider'),
  ],

  preloads: [() => import('#start/routes'), () => import('#start/kernel')],

  directories: {
    /* not commands/: that is the package's own folder, loaded through adonis-tracking/commands */
    commands: 'demo/commands',
    views: 'demo/views',
    public: 'demo/public',
    migrations: 'demo/migrations',
    models: 'demo/models',
    controllers: 'demo/controllers',
    middleware: 'demo/middleware',
    exceptions: 'demo/exceptions',
  },

  tests: {
    suites: [
      {
        /* no app, Redis or SQL: bin/test.ts runs it alone without booting (npm run test:pure) */
        files: ['tests/pure/**/*.spec.ts'],
        name: 'pure',
        timeout: 2_000,
      },
      {
        files: ['tests/unit/**/*.spec.ts'],
        name: 'unit',
        timeout: 10_000,
      },
      {
        files: ['tests/functional/**/*.spec.ts'],
        name: 'functional',
        timeout: 30_000,
      },
      {
        /* boots other apps, which replaces global services: runs last */
        files: ['tests/isolated/**/*.spec.ts'],
        name: 'isolated',
        timeout: 30_000,
      },
    ],
    forceExit: false,
  },

  metaFiles: [
    { pattern: 'demo/views/**/*.edge', reloadServer: false },
    { pattern: 'resources/views/**/*.edge', reloadServer: false },
    { pattern: 'demo/public/**', reloadServer: false },
  ],
})

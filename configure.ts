import type Configure from '@adonisjs/core/commands/configure'

/**
 * Configures the package in the host app (`node ace configure adonis-tracking`)
 */
export async function configure(_command: Configure) {}

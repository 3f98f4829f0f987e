/*
|--------------------------------------------------------------------------
| HTTP kernel of the demo app
|--------------------------------------------------------------------------
|
| The tracking middleware runs last in the router stack, after the auth
| initializer and silent auth, so it knows the logged-in user.
|
*/

import router from '@adonisjs/core/services/router'
import server from '@adonisjs/core/services/server'

server.errorHandler(() => import('#demo/exceptions/handler'))

server.use([
  () => import('#demo/middleware/container_bindings_middleware'),
  () => import('@adonisjs/static/static_middleware'),
])

router.use([
  () => import('@adonisjs/core/bodyparser_middleware'),
  () => import('@adonisjs/session/session_middleware'),
  () => import('@adonisjs/auth/initialize_auth_middleware'),
  () => import('#demo/middleware/silent_auth_middleware'),
  () => import('adonis-tracking/tracking_middleware'),
])

export const middleware = router.named({
  auth: () => import('#demo/middleware/auth_middleware'),
})

/*
|--------------------------------------------------------------------------
| Routes of the demo app
|--------------------------------------------------------------------------
|
| The analytics page (/cabinet/tracking) is registered by the package itself.
|
*/

import router from '@adonisjs/core/services/router'
import { middleware } from '#start/kernel'

const PagesController = () => import('#demo/controllers/pages_controller')
const SessionController = () => import('#demo/controllers/session_controller')
const SignupController = () => import('#demo/controllers/signup_controller')

router.get('/', [PagesController, 'home']).as('home')
router.get('/about', [PagesController, 'about']).as('about')
router.get('/posts/:id', [PagesController, 'post']).as('posts.show')
router.get('/pricing', [PagesController, 'pricing']).as('pricing')
router.get('/old-home', ({ response }) => response.redirect('/'))
router.get('/moved', ({ response }) => response.redirect().status(301).toPath('/about'))
router.get('/boom', [PagesController, 'boom'])
/* any path below /wiki/ answers 200: long and unusual paths in the recording tests */
router.get('/wiki/*', [PagesController, 'about'])

router.get('/login', [SessionController, 'create']).as('login')
router.post('/login', [SessionController, 'store'])
router.post('/logout', [SessionController, 'destroy']).as('logout')
router.get('/logout', [SessionController, 'destroy'])

/* records a `signup` event with the posted plan (tracking.event from server code) */
router.post('/signup', [SignupController, 'store']).as('signup')

router.get('/account', [PagesController, 'account']).as('account').use(middleware.auth())

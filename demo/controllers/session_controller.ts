import type { HttpContext } from '@adonisjs/core/http'
import User from '#demo/models/user'

/**
 * Login and logout with the session guard
 */
export default class SessionController {
  create({ view }: HttpContext) {
    return view.render('pages/login')
  }

  async store({ request, auth, response, session }: HttpContext) {
    const { email, password } = request.only(['email', 'password'])
    try {
      const user = await User.verifyCredentials(String(email ?? ''), String(password ?? ''))
      await auth.use('web').login(user)
    } catch {
      session.flash('error', 'Invalid email or password')
      return response.redirect('/login')
    }
    return response.redirect(request.input('next', '/account'))
  }

  async destroy({ auth, response }: HttpContext) {
    await auth.use('web').logout()
    return response.redirect('/')
  }
}

// `/manage/invites`: create an invite for a candidate (the link to send comes back once, with a copy button) and
// manage the invites: reissue a link (shown once too), revoke, add time, open the attempt. Filters live in the URL
// query.

import '../../manage/invites.css';
import { h } from '../../dom.js';
import { InviteForm } from '../../manage/invite-form.js';
import { InviteList } from '../../manage/invite-list.js';
import { ExerciseSources } from '../../manage/exercise-sources.js';
import { staffPage } from '../../manage/layout.js';
import type { PageContext } from '../../router.js';
import { Toaster } from '../../ui/toast.js';

export default async function invitesPage(ctx: PageContext): Promise<void> {
  const frame = await staffPage(ctx, 'Invites', 'invites');
  if (!frame || ctx.scope.disposed) return;
  const { main } = frame;
  const { scope } = ctx;
  const toaster = new Toaster();
  const list = new InviteList(scope, toaster, (invite) => form.showCreated(invite, true));
  const form: InviteForm = new InviteForm({
    scope,
    onExercises: (exercises) => list.setExercises(exercises),
    onCreated: () => void list.loadInvites({ quiet: true }),
  });

  // Where each exercise comes from, its published version, and what failed to publish.
  const sources = new ExerciseSources(scope);
  main.classList.add('invites-page');
  const heading = h('h1', { tabindex: -1 }, 'Invites');
  main.append(
    heading,
    h('p', { class: 'lead' }, 'Each invite is one candidate’s link to one timed attempt. The clock starts when they press Start.'),
    form.element,
    list.element,
    sources.element,
    toaster.element,
  );
  scope.add(() => toaster.dispose());
  heading.focus({ preventScroll: true });
  await Promise.all([form.loadExercises(), list.loadInvites(), sources.load()]);
}

import type { webApi } from '@slack/bolt';
import { buildNoticeView, modal, type ModalView } from '../messages/modal.ts';
import { ViewId } from '../action-ids.ts';
import { context } from '../messages/blocks.ts';
import type { Logger } from '../../log/logger.ts';
import { errorToText } from '../errors-to-text.ts';

/**
 * Opens a modal at once and fills it in after: a trigger id is valid for 3 seconds, and
 * reading the catalog of a big bucket can take most of that. So a "Loading…" view is opened
 * first (one fast call), then `build` runs and the view is replaced with `views.update`. When
 * `build` says no (a string), the modal shows that instead, so the person is never left guessing.
 */
export async function openModalThen(
  client: Pick<webApi.WebClient, 'views'>,
  triggerId: string,
  title: string,
  build: () => Promise<ModalView | string>,
  logger: Logger,
): Promise<void> {
  const opened = await client.views.open({ trigger_id: triggerId, view: loadingView(title) as never });
  const viewId = (opened.view as { id?: string } | undefined)?.id;
  let view: ModalView;
  try {
    const built = await build();
    view = typeof built === 'string' ? buildNoticeView(title, built) : built;
  } catch (err) {
    view = buildNoticeView(title, errorToText(err, logger, { modal: title }));
  }
  if (viewId === undefined) return;
  await client.views.update({ view_id: viewId, view: view as never });
}

export function loadingView(title: string): ModalView {
  return modal({ callbackId: ViewId.Loading, title, close: 'Close', blocks: [context(':hourglass_flowing_sand: Loading…')] });
}

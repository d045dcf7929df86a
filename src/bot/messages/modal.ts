import { ViewId } from '../action-ids.ts';
import { plain, section, type Block } from './blocks.ts';

export interface ModalView {
  type: 'modal';
  callback_id: string;
  title: { type: 'plain_text'; text: string };
  submit?: { type: 'plain_text'; text: string };
  close: { type: 'plain_text'; text: string };
  private_metadata?: string;
  blocks: Block[];
}

/** A modal; titles and button labels are cut to Slack's 24 characters. */
export function modal(o: { callbackId: string; title: string; submit?: string; close?: string; metadata?: string; blocks: Block[] }): ModalView {
  return {
    type: 'modal',
    callback_id: o.callbackId,
    title: plain(o.title, 24) as ModalView['title'],
    ...(o.submit ? { submit: plain(o.submit, 24) as ModalView['title'] } : {}),
    close: plain(o.close ?? 'Cancel', 24) as ModalView['title'],
    ...(o.metadata !== undefined ? { private_metadata: o.metadata } : {}),
    blocks: o.blocks.slice(0, 100),
  };
}

/** A modal that only tells something (what happened after a submit, why nothing did). */
export function buildNoticeView(title: string, text: string): ModalView {
  return modal({ callbackId: ViewId.Notice, title, close: 'Close', blocks: [section(text)] });
}

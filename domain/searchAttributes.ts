/**
 * Custom search attributes every incident workflow carries, so the Temporal UI can filter incidents by
 * model, severity, failure mode and phase. Registered by `vigil up` on the dev server (Keyword type).
 * Safe to import from workflow code.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const VigilModel = defineSearchAttributeKey('VigilModel', SearchAttributeType.KEYWORD);
export const VigilSeverity = defineSearchAttributeKey('VigilSeverity', SearchAttributeType.KEYWORD);
export const VigilFailureMode = defineSearchAttributeKey('VigilFailureMode', SearchAttributeType.KEYWORD);
export const VigilPhase = defineSearchAttributeKey('VigilPhase', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTE_NAMES = ['VigilModel', 'VigilSeverity', 'VigilFailureMode', 'VigilPhase'] as const;

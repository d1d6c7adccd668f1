/**
 * All node parameters, grouped by concern, in the order the editor shows them.
 */
import type { INodeProperties } from 'n8n-workflow';
import { bodyProperties } from './body';
import { optionsProperty } from './options';
import { queryHeaderProperties } from './query-headers';
import { requestProperties } from './request';

export const nodeProperties: INodeProperties[] = [...requestProperties, ...queryHeaderProperties, ...bodyProperties, optionsProperty];

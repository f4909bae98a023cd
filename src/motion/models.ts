/** Lookup of the motion models by name (motion-model.ts describes the interface). */
import { affineModel } from './affine.js';
import { euclideanModel } from './euclidean.js';
import { homographyModel } from './homography.js';
import type { ModelName } from './model-name.js';
import type { MotionModel } from './motion-model.js';
import { similarityModel } from './similarity.js';
import { translationModel } from './translation.js';

/** Every motion model, by name. */
export const MOTION_MODELS: Readonly<Record<ModelName, MotionModel>> = {
  translation: translationModel,
  euclidean: euclideanModel,
  similarity: similarityModel,
  affine: affineModel,
  homography: homographyModel,
};

/** The motion model called `name`. */
export function getMotionModel(name: ModelName): MotionModel {
  return MOTION_MODELS[name];
}

// Each person's alert wiring: the SNS topic (and so the account of the budget) created on their first launch.
export interface WiringRepository {
  /** Records the person's topic; emails compare without case. */
  setTopic(email: string, topicArn: string): Promise<void>;
  topicOf(email: string): Promise<string | undefined>;
}

// The exact AWS SSM commands and profile snippet a user needs to reach a private instance.
import type { ConnectSettings } from './context.js';
import type { Message } from './message.js';

export function connectMessage(name: string, instanceId: string, s: ConnectSettings): Message {
  const base = `aws ssm start-session --profile service-catalog --target ${instanceId}`;
  const forward = `${base} --document-name AWS-StartPortForwardingSession --parameters '{"portNumber":["80"],"localPortNumber":["9090"]}'`;
  const windows = `${base} --document-name AWS-StartPortForwardingSession --parameters "{\\"portNumber\\":[\\"80\\"],\\"localPortNumber\\":[\\"9090\\"]}"`;
  const profile = `[profile service-catalog]\nregion = ${s.region}\ncredential_process = ${s.credentialProcess}`;
  return {
    text: `Connect to ${name} (${instanceId}) with AWS SSM`,
    title: `Connect to ${name}`,
    body: ['A shell on the instance:'],
    code: [
      base,
      'Forward port 80 on the instance to http://localhost:9090 (macOS, Linux):\n' + forward,
      'The same from Windows cmd:\n' + windows,
      'Once, in ~/.aws/config:\n' + profile,
    ],
    context: ['Needs the AWS CLI v2 and the Session Manager plugin. The instance has no public address; SSM is the way in.'],
  };
}

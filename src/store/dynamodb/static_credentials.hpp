// Credentials given once and never refreshed: environment keys, an emulator (which accepts any) and tests.
#pragma once

#include "store/dynamodb/aws_credentials.hpp"

namespace broker {

class StaticAwsCredentials final : public AwsCredentialProvider {
  public:
    explicit StaticAwsCredentials(AwsCredentials credentials) : credentials_(std::move(credentials)) {}
    AwsCredentials credentials() override { return credentials_; }

  private:
    AwsCredentials credentials_;
};

}  // namespace broker
